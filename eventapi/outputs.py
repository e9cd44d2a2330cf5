"""What a synthesized stack tells its readers: the output names, shared by the stacks, the post-deploy step and the
tests, and the template metadata keys the stacks write for the local Event API.

Pure Python on purpose: `eventapi.deploy` and `eventapi.local` read these without importing aws_cdk.
"""

from enum import StrEnum
from typing import Final

# Metadata on template resources, for the local Event API (hot reload): where a namespace's code and a function's
# source directory live, relative to the project root.
CODE_METADATA: Final = "eventapi:code"  # on an AWS::AppSync::ChannelNamespace
SOURCE_METADATA: Final = "eventapi:source"  # on an AWS::Lambda::Function


class Output(StrEnum):
    """CloudFormation output logical ids (also the keys of `cdk deploy --outputs-file`)."""

    API_ID = "EventApiId"
    API_ARN = "EventApiArn"
    HTTP_ENDPOINT = "EventApiHttpEndpoint"
    REALTIME_ENDPOINT = "EventApiRealtimeEndpoint"
    HTTP_HOST = "EventApiHttpHost"
    REALTIME_HOST = "EventApiRealtimeHost"
    REGION = "EventApiRegion"
    USER_POOL_ID = "CognitoUserPoolId"
    USER_POOL_CLIENT_ID = "CognitoUserPoolClientId"
    PUBLISHER_ROLE_ARN = "PublisherRoleArn"
    SUBSCRIBER_ROLE_ARN = "SubscriberRoleArn"
    DOMAIN_TARGET = "EventApiDomainTarget"  # the AppSync (CloudFront) name a custom domain's DNS record points at

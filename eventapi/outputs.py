"""Stack output names: the one definition shared by the stacks, the post-deploy step and the tests.

Pure Python on purpose: `eventapi.deploy` reads these without importing aws_cdk.
"""

from enum import StrEnum


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

// Namespace handler for /comments/*: drop empty comments, save the rest to DynamoDB, then broadcast them.
// onPublish is an object with request/response because it talks to a data source (the stage's `comments` table):
// https://docs.aws.amazon.com/appsync/latest/eventapi/data-source-integrations.html
import { util, runtime } from '@aws-appsync/utils';
import * as ddb from '@aws-appsync/utils/dynamodb';

// Tables made by the stack are named <app>-<stage>-<data source> (docs/handlers.md).
const TABLE = 'social-prod-comments';

export const onPublish = {
  request(ctx) {
    const channel = ctx.info.channel.path;
    const receivedAt = util.time.nowISO8601();
    const comments = ctx.events.filter(
      (event) => event.payload && typeof event.payload.content === 'string' && event.payload.content.trim() !== '',
    );
    if (comments.length === 0) {
      runtime.earlyReturn([]);
    }
    return ddb.batchPut({
      tables: { [TABLE]: comments.map(({ id, payload }) => ({ ...payload, channel, id, receivedAt })) },
    });
  },
  response(ctx) {
    if (ctx.error) {
      util.error(ctx.error.message, ctx.error.type);
    }
    return ctx.result.data[TABLE].map(({ channel, id, ...payload }) => ({ id, payload }));
  },
};

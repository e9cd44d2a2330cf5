// Namespace handler for /comments/*: drop empty comments, stamp the rest with the server time.
// APPSYNC_JS runtime: https://docs.aws.amazon.com/appsync/latest/eventapi/runtime-reference-overview.html
import { util } from '@aws-appsync/utils';

export function onPublish(ctx) {
  return ctx.events
    .filter((event) => event.payload && typeof event.payload.content === 'string' && event.payload.content.trim() !== '')
    .map((event) => ({ id: event.id, payload: { ...event.payload, receivedAt: util.time.nowISO8601() } }));
}

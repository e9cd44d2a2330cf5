// The seed blog post's browser snippet, run by Node 20 (`node --experimental-websocket seed_snippet.mjs`).
//
// Kept as in the post: the auth object sent as a `header-<base64url>` subprotocol next to
// `aws-appsync-event-ws`, `connection_init`, a subscribe to `/default/comments/<id>/*` carrying the same auth
// object, and a `fetch` POST with the auth object as headers. One deliberate change, the post's channel pitfall
// (docs/local-deploy.md): it publishes to a CHILD channel (`.../<id>/new`), because a `/*` subscription never
// receives the parent `/default/comments/<id>` that the post publishes to.
//
// Input (env): REALTIME_URL (ws[s]://host:port/event/realtime), HTTP_URL (http[s]://host:port/event),
// HTTP_DOMAIN (the host the auth object names), API_KEY. Prints one JSON line per frame/step; exits 0 once the
// published comment arrives, 1 with a one-line error otherwise. The key is never printed.
const REALTIME_URL = process.env.REALTIME_URL;
const HTTP_URL = process.env.HTTP_URL;
const HTTP_DOMAIN = process.env.HTTP_DOMAIN;
const API_KEY = process.env.API_KEY;
const id = '0192ec6b-b12f-708f-8ea9-b1d48c993be2'; // placeholder article id (from the post)

const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const fail = (message) => {
  process.stderr.write(`seed_snippet: ${message}\n`);
  process.exit(1);
};
setTimeout(() => fail('timed out after 15000 ms'), 15000);

const auth = { 'x-api-key': API_KEY, host: HTTP_DOMAIN };

function getAuthProtocol() {
  const header = btoa(JSON.stringify(auth))
    .replace(/\+/g, '-') // Convert '+' to '-'
    .replace(/\//g, '_') // Convert '/' to '_'
    .replace(/=+$/, ''); // Remove padding `=`
  return `header-${header}`;
}

const subscribed = {};
const comment = new Promise((resolveComment) => {
  subscribed.promise = new Promise((resolveSub, rejectSub) => {
    subscribed.resolve = resolveSub;
    subscribed.reject = rejectSub;
  });
  globalThis.onFrame = (msg) => {
    if (msg.type === 'subscribe_success') subscribed.resolve();
    if (msg.type === 'subscribe_error') subscribed.reject(new Error(JSON.stringify(msg.errors)));
    if (msg.type === 'data') resolveComment(JSON.parse(msg.event));
  };
});

try {
  const socket = await new Promise((resolve, reject) => {
    const socket = new WebSocket(REALTIME_URL, ['aws-appsync-event-ws', getAuthProtocol()]);
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'connection_init' }));
      resolve(socket);
    };
    socket.onclose = (evt) => reject(new Error(evt.reason || `closed (${evt.code})`));
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type !== 'ka') say({ frame: msg.type });
      globalThis.onFrame(msg);
    };
  });
  say({ step: 'open', protocol: socket.protocol });

  socket.send(
    JSON.stringify({
      type: 'subscribe',
      id: crypto.randomUUID(),
      channel: `/default/comments/${id}/*`,
      authorization: auth,
    }),
  );
  await subscribed.promise;

  const event = {
    channel: `/default/comments/${id}/new`, // the post has `/default/comments/${id}`: not received by `/*`
    events: [JSON.stringify({ message: 'How good are Websockets?!' })],
  };
  const response = await fetch(HTTP_URL, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify(event),
  });
  const body = await response.json();
  say({ step: 'fetch', status: response.status, successful: body.successful?.length ?? 0, failed: body.failed?.length ?? 0 });

  const received = await comment;
  say({ step: 'received', event: received });
  socket.onclose = null;
  socket.close();
  process.exit(0);
} catch (err) {
  fail(`${err?.name ?? 'Error'}: ${err?.message}`);
}

// The official aws-amplify client (v6 Events API) against the local Event API's TLS endpoint.
//
//   NODE_EXTRA_CA_CERTS=<local ca.pem> node --experimental-websocket amplify_events.mjs <amplify config JSON file>
//
// The config file holds what `Amplify.configure()` takes: an amplify_outputs.json (`custom.events`, as
// `python -m eventapi.deploy export --format amplify` writes it) or {"API": {"Events": {endpoint, region,
// defaultAuthMode, apiKey}}}. Scenario: connect to `/default/comments/<id>/*`, subscribe, publish over
// HTTP (`events.post`) and over the socket (`channel.publish` on a child channel), receive both.
// Prints one JSON line per step to stdout (never the key); exits 0 on success, 1 with a one-line error.
import { readFileSync } from 'node:fs';
import { Amplify } from 'aws-amplify';
import { events } from 'aws-amplify/data';

const TIMEOUT_MS = 15000;
const articleId = '0192ec6b-b12f-708f-8ea9-b1d48c993be2';
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const fail = (message) => {
  process.stderr.write(`amplify_events: ${message}\n`);
  process.exit(1);
};
const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);

try {
  if (typeof WebSocket === 'undefined') fail('no global WebSocket: run node with --experimental-websocket');
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  Amplify.configure(config);

  const received = [];
  let wanted = 0;
  let onEnough;
  const enough = new Promise((resolve) => (onEnough = resolve));

  const channel = await events.connect(`/default/comments/${articleId}/*`);
  const sub = channel.subscribe({
    next: (data) => {
      received.push(data.event);
      if (received.length >= wanted && wanted > 0) onEnough();
    },
    error: (err) => fail(`subscription error: ${JSON.stringify(err)}`),
  });
  await sub.ready;
  say({ step: 'subscribed', channel: `/default/comments/${articleId}/*` });

  wanted = 2;
  const posted = await events.post(`/default/comments/${articleId}/new`, { via: 'http', content: 'posted with events.post' });
  say({ step: 'posted', failed: posted ?? [] }); // events.post resolves to the failed[] entries, if any

  const child = await events.connect(`/default/comments/${articleId}/ws`);
  await child.publish({ via: 'ws', content: 'published with channel.publish' }); // resolves on publish_success
  say({ step: 'published' });

  await enough;
  received.sort((a, b) => a.via.localeCompare(b.via));
  say({ step: 'received', events: received });

  sub.unsubscribe();
  await channel.close();
  await child.close();
  clearTimeout(timer);
  say({ step: 'done' });
  // Amplify keeps the socket for a second after the last channel closes; do not wait for it.
  setTimeout(() => process.exit(0), 50);
} catch (err) {
  fail(`${err?.name ?? 'Error'}: ${err?.message ?? JSON.stringify(err)}`);
}

// Comments on an article, live over an AWS AppSync Event API: the seed post's browser demo, done right.
//
// Config: the JSON that `python -m eventapi.deploy export --format json` writes (the SSM `config` keys plus
// `apiKey`), fetched from ./events.json or ?config=<url>. ?article=<id> picks the article. No build step, no
// library: a WebSocket for the subscription and fetch() for publishing, as in the seed post.
//
// The seed post's pitfall: it subscribes to `/default/comments/<id>/*` but publishes to `/default/comments/<id>`.
// A `/*` subscription matches the channels BELOW that path, never the path itself, so those comments never
// arrive. This page publishes to a child channel, `/default/comments/<id>/new`, which the subscription covers.
//
// The API key is readable by anyone who opens this page: it is a rate-limit handle, not a secret. Never log the
// config, and in production allow API_KEY for subscribing only and publish through Cognito or IAM.

const params = new URLSearchParams(location.search)
const CONFIG_URL = params.get('config') || './events.json'
const ARTICLE_ID = params.get('article') || '0192ec6b-b12f-708f-8ea9-b1d48c993be2' // the seed post's placeholder
const SUBSCRIBE_CHANNEL = `/default/comments/${ARTICLE_ID}/*`
const PUBLISH_CHANNEL = `/default/comments/${ARTICLE_ID}/new` // a child of SUBSCRIBE_CHANNEL (see above)
const BACKOFF_INITIAL_MS = 500
const BACKOFF_MAX_MS = 30000

const $ = (id) => document.getElementById(id)
const ui = {
  status: $('status'), notice: $('notice'), list: $('comments'), empty: $('empty'), form: $('comment-form'),
  author: $('author'), content: $('content'), submit: $('submit'), formError: $('form-error'),
}

let config = null // { httpEndpoint, realtimeEndpoint, httpHost, apiKey, ... }; never logged
let socket = null
let attempt = 0 // reconnect attempts since the last successful subscribe
let kaTimer = null
let everSubscribed = false
const seen = new Set() // comment ids already shown (a comment may be delivered again after a reconnect)

const uid = () => (crypto.randomUUID ? crypto.randomUUID()
  : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''))

function setState(state, detail = '') {
  ui.status.dataset.state = state
  ui.status.textContent = detail ? `${state}: ${detail}` : state
}

function notice(text) {
  ui.notice.textContent = text
  ui.notice.hidden = !text
}

async function loadConfig() {
  const response = await fetch(CONFIG_URL, { cache: 'no-store' })
  if (!response.ok) throw new Error(`config ${CONFIG_URL}: HTTP ${response.status}`)
  const json = await response.json()
  for (const key of ['httpEndpoint', 'realtimeEndpoint', 'httpHost', 'apiKey']) {
    if (typeof json[key] !== 'string' || !json[key]) throw new Error(`config ${CONFIG_URL}: "${key}" is missing`)
  }
  return json
}

// The auth object names the API key and the HTTP host, on the socket as on every subscribe.
const auth = () => ({ 'x-api-key': config.apiKey, host: config.httpHost })

// Browsers cannot set headers on a WebSocket, so the auth object travels as a subprotocol: `header-` followed by
// the base64url of its JSON (no padding), next to `aws-appsync-event-ws`.
function authProtocol() {
  const header = btoa(JSON.stringify(auth())).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  return `header-${header}`
}

function connect() {
  setState(attempt === 0 && !everSubscribed ? 'connecting' : 'reconnecting')
  const ws = new WebSocket(config.realtimeEndpoint, ['aws-appsync-event-ws', authProtocol()])
  socket = ws
  ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init' }))
  ws.onmessage = (evt) => onFrame(ws, JSON.parse(evt.data))
  ws.onclose = (evt) => {
    clearTimeout(kaTimer)
    if (socket === ws) scheduleReconnect(evt.reason || `closed (${evt.code})`)
  }
}

// The service sends `ka` regularly; silence longer than connectionTimeoutMs means the connection is dead.
function armKeepAlive(timeoutMs) {
  clearTimeout(kaTimer)
  kaTimer = setTimeout(() => socket && socket.close(4000, 'keep-alive timeout'), timeoutMs)
}

function onFrame(ws, msg) {
  switch (msg.type) {
    case 'connection_ack':
      setState('connected')
      ws.timeoutMs = msg.connectionTimeoutMs || 300000
      armKeepAlive(ws.timeoutMs)
      ws.send(JSON.stringify({ type: 'subscribe', id: uid(), channel: SUBSCRIBE_CHANNEL, authorization: auth() }))
      break
    case 'ka':
      armKeepAlive(ws.timeoutMs || 300000)
      break
    case 'subscribe_success':
      if (everSubscribed) notice('Reconnected. Comments posted while the connection was down are not shown.')
      everSubscribed = true
      attempt = 0
      setState('subscribed')
      break
    case 'data':
      render(msg.event)
      break
    case 'subscribe_error': // e.g. Unauthorized for this namespace: retrying the same request cannot help
      setState('error', describe(msg.errors, 'subscribe refused'))
      break
    case 'connection_error': // e.g. a wrong or expired key: close, then retry with a freshly read config
      notice(`Connection refused: ${describe(msg.errors, 'connection_error')}`)
      ws.close(4000, 'connection_error')
      break
    case 'error':
    case 'broadcast_error':
      notice(`Server error: ${describe(msg.errors, msg.type)}`)
      break
  }
}

const describe = (errors, fallback) =>
  (errors || []).map((e) => [e.errorType, e.message].filter(Boolean).join(': ')).join('; ') || fallback

// Jittered exponential backoff; the config is read again first, so a rotated API key is picked up.
function scheduleReconnect(reason) {
  socket = null
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** attempt) * (0.5 + Math.random() / 2)
  attempt += 1
  setState('reconnecting', `${reason}, retry in ${(delay / 1000).toFixed(1)} s`)
  setTimeout(async () => {
    try {
      config = await loadConfig()
    } catch (err) {
      notice(String(err.message || err)) // keep the last good config and try anyway
    }
    connect()
  }, delay)
}

// One `data` frame carries one event: a JSON string. Every piece of it is user data, so it goes in as text only.
function render(eventJson) {
  let comment
  try {
    comment = JSON.parse(eventJson)
  } catch {
    comment = { content: String(eventJson) }
  }
  if (comment === null || typeof comment !== 'object') comment = { content: String(comment) }
  if (comment.id && seen.has(comment.id)) return
  if (comment.id) seen.add(comment.id)

  const item = document.createElement('li')
  item.className = 'comment'
  const author = document.createElement('span')
  author.className = 'author'
  author.textContent = String(comment.author || 'anonymous')
  const when = document.createElement('time')
  const date = new Date(comment.date)
  when.textContent = Number.isNaN(date.getTime()) ? String(comment.date || '') : date.toLocaleString()
  const content = document.createElement('p')
  content.className = 'content'
  content.textContent = String(comment.content ?? comment.message ?? '')
  item.append(author, when, content)
  ui.list.append(item)
  ui.empty.hidden = true
}

async function publish(event) {
  ui.formError.textContent = ''
  ui.submit.disabled = true
  try {
    const response = await fetch(config.httpEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': config.apiKey },
      body: JSON.stringify({ channel: PUBLISH_CHANNEL, events: [JSON.stringify(event)] }),
    })
    const body = await response.json().catch(() => ({}))
    if (!response.ok) throw new Error(describe(body.errors, `HTTP ${response.status}`))
    if (body.failed && body.failed.length) throw new Error(body.failed.map((f) => f.message || f.code).join('; '))
    ui.content.value = '' // shown when it comes back over the socket, like everyone else's
  } catch (err) {
    ui.formError.textContent = `Not posted: ${err.message || err}`
  } finally {
    ui.submit.disabled = false
  }
}

ui.form.addEventListener('submit', (evt) => {
  evt.preventDefault()
  const content = ui.content.value.trim()
  if (!content || !config) return
  publish({ id: uid(), author: ui.author.value.trim() || 'anonymous', content, date: new Date().toISOString() })
})

$('article-id').textContent = ARTICLE_ID
try {
  config = await loadConfig()
  ui.submit.disabled = false
  connect()
} catch (err) {
  setState('error', String(err.message || err))
}

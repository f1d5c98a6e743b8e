// Send an operation to Archibot's HTTP API and follow it to its end over Server-Sent Events.
// Node 20+, no npm packages (fetch and web streams are built in).
//
//   ARCHIBOT_API_URL=http://127.0.0.1:8080 ARCHIBOT_API_TOKEN=... \
//     node examples/node-client.mjs submit-order agent01 '{"customer": "1002305", "lines": [...]}'
//
// Prints one JSON line per status event; exits 0 when the operation is done, 1 otherwise.
import { randomUUID } from "node:crypto";

const [type, agent, payloadJson = "{}", key = randomUUID()] = process.argv.slice(2);
const base = (process.env.ARCHIBOT_API_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "");
const headers = { Authorization: `Bearer ${process.env.ARCHIBOT_API_TOKEN ?? ""}` };
if (!type || !agent) {
  console.error("usage: node-client.mjs TYPE AGENT [PAYLOAD_JSON] [IDEMPOTENCY_KEY]");
  process.exit(2);
}

// 1. Send it. Retrying with the same Idempotency-Key can never make a second operation.
let sent;
for (let attempt = 0; ; attempt++) {
  try {
    const r = await fetch(`${base}/v1/operations`, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify({ type, agent, payload: JSON.parse(payloadJson) }),
    });
    sent = await r.json();
    if (!r.ok) {
      console.error(`refused (${r.status}): ${sent.field ? sent.field + ": " : ""}${sent.detail}`);
      process.exit(1);
    }
    break;
  } catch (err) {
    if (attempt >= 4) throw err;
    await new Promise((ok) => setTimeout(ok, 500 * 2 ** attempt));
  }
}
console.log(JSON.stringify({ event: "sent", id: sent.id, status: sent.status }));

// 2. Follow it: the stream sends `event: status` with the whole operation, and ends after
//    a terminal one (done, failed, cancelled).
const r = await fetch(`${base}/v1/operations/${sent.id}/events`, {
  headers: { ...headers, Accept: "text/event-stream" },
});
if (!r.ok) {
  console.error(`events refused (${r.status})`);
  process.exit(1);
}
let last = sent;
let buffer = "";
const decoder = new TextDecoder();
for await (const chunk of r.body) {
  buffer += decoder.decode(chunk, { stream: true });
  let end;
  while ((end = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    const fields = Object.fromEntries(
      block.split("\n").filter((l) => l && !l.startsWith(":")).map((l) => {
        const i = l.indexOf(":");
        return [l.slice(0, i), l.slice(i + 1).trimStart()];
      }),
    );
    if (fields.event === "status") {
      last = JSON.parse(fields.data);
      console.log(JSON.stringify({ event: "status", id: last.id, status: last.status,
                                   progress: last.progress, result: last.result, error: last.error }));
    }
  }
}
process.exit(last.status === "done" ? 0 : 1);

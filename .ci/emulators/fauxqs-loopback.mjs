// Starts fauxqs (SQS) on 127.0.0.1 only. fauxqs's own CLI always listens on 0.0.0.0; its
// documented buildApp() lets us choose the address. Queue URLs then follow the request's Host
// header (http://127.0.0.1:PORT/000000000000/NAME).
// Usage: FAUXQS_PORT=N node fauxqs-loopback.mjs   (Node >= 22.5, for node:sqlite)
import { buildApp } from "fauxqs";

const port = Number.parseInt(process.env.FAUXQS_PORT ?? "", 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error("fauxqs-loopback: set FAUXQS_PORT to the port to listen on");
  process.exit(2);
}
const app = buildApp({ logger: process.env.FAUXQS_LOGGER !== "false" });
try {
  await app.listen({ port, host: "127.0.0.1" });
} catch (err) {
  console.error("fauxqs-loopback: cannot listen:", err);
  process.exit(1);
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => app.close().then(() => process.exit(0)));
}

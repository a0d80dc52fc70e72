// Small helpers for .ci/testenv.sh that must work on a bare machine with only Node (no curl).
//   node tool.mjs ports N              print N distinct free TCP ports on 127.0.0.1
//   node tool.mjs wait NAME URL SECS PID
//                                      wait until URL answers HTTP (any status) or fail
//                                      early if process PID has exited
import net from "node:net";

const [cmd, ...args] = process.argv.slice(2);

async function ports(n) {
  // Hold every listener open until all are bound so the ports are distinct.
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((resolve, reject) => {
      s.once("error", reject);
      s.listen(0, "127.0.0.1", resolve);
    });
    servers.push(s);
  }
  console.log(servers.map((s) => s.address().port).join(" "));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

async function wait(name, url, secs, pid) {
  const start = Date.now();
  const deadline = start + secs * 1000;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (pid && !alive(pid)) {
      console.error(`testenv: ${name} exited before answering on ${url}`);
      process.exit(1);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (process.env.TESTENV_VERBOSE) {
        console.error(`testenv: ${name} answered after ${((Date.now() - start) / 1000).toFixed(1)}s`);
      }
      return;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  console.error(`testenv: ${name} did not answer on ${url} within ${secs}s (${last})`);
  process.exit(1);
}

switch (cmd) {
  case "ports":
    await ports(Number.parseInt(args[0], 10));
    break;
  case "wait":
    await wait(args[0], args[1], Number(args[2]), Number.parseInt(args[3] ?? "0", 10));
    break;
  default:
    console.error(`tool.mjs: unknown command ${cmd}`);
    process.exit(2);
}

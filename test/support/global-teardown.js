// Stops any simulator, Glance or plugin process that a failed test of this run left behind (recorded by PID
// in .sim/pids with the PID of the process that started it). Children of other, still running test runs
// are left alone.
const fs = require("node:fs");
const path = require("node:path");

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

module.exports = async () => {
  const dir = path.resolve(__dirname, "..", "..", ".sim", "pids");
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    const file = path.join(dir, f);
    let owner = 0;
    try {
      owner = Number(fs.readFileSync(file, "utf8").split("\n")[1]);
    } catch {
      continue;
    }
    if (owner && owner !== process.pid && alive(owner)) continue;
    const pid = Number(f);
    if (pid > 0) {
      try { process.kill(-pid, "SIGKILL"); } catch {}
      try { process.kill(pid, "SIGKILL"); } catch {}
    }
    fs.rmSync(file, { force: true });
  }
};

// Stops any simulator, Glance or plugin process that a failed test left behind (recorded by PID).
const fs = require("node:fs");
const path = require("node:path");
module.exports = async () => {
  const dir = path.resolve(__dirname, "..", "..", ".sim", "pids");
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    const pid = Number(f);
    if (pid > 0) {
      try { process.kill(-pid, "SIGKILL"); } catch {}
      try { process.kill(pid, "SIGKILL"); } catch {}
    }
    fs.rmSync(path.join(dir, f), { force: true });
  }
};

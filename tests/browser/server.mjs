// What both browser suites need: the broadsheet binary started on a data folder (ready once it
// prints its URL) and Debian's Chromium launched by playwright-core.
import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
export const binary = process.env.BROADSHEET_BIN || join(root, "target", "debug", "broadsheet");

/** Starts `broadsheet serve --demo` on `dataDir`; resolves to { server, base } once it is ready. */
export async function startServer(dataDir) {
  const server = spawn(binary, ["serve", "--demo", "--data-dir", dataDir, "--addr", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  // The server is ready once it has printed the line with its URL.
  const base = await new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${seen}`)), 60_000);
    server.stdout.on("data", (chunk) => {
      seen += chunk;
      const match = seen.match(/running at (http:\/\/[^/\s]+)\//);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    server.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { server, base };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

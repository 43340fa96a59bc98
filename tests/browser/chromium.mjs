// Debian's headless Chromium as the browser tests launch it: no sandbox (the
// tests run as root in CI) and no background calls to the internet, so that
// every request a page makes is one the page itself asked for.

import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

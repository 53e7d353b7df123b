/** Headless Chromium for the live view's tests: Debian's `chromium` (or $CHROMIUM), driven by puppeteer-core. */
import puppeteer, { type Browser } from "puppeteer-core";

export async function launchChromium(): Promise<Browser> {
  const executablePath = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
  try {
    await Deno.stat(executablePath);
  } catch {
    throw new Error(
      `no browser at ${executablePath}: install Debian's chromium (apt-get install chromium) or set CHROMIUM`,
    );
  }
  return await puppeteer.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

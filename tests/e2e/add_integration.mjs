// Add Ultrasonic Presence through Home Assistant's own UI, as a user would:
// log in, Settings → Devices & services → Add integration → Ultrasonic Presence →
// Simulated room → calibration (progress) → result → finish, then open the device page
// and screenshot it with the occupancy entity.
//
// Usage: node add_integration.mjs URL OUT_DIR   (Debian chromium at /usr/bin/chromium)
// Exit code 0 only when the device page shows the occupancy entity.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [url = "http://127.0.0.1:8123", outDir = "."] = process.argv.slice(2);
const user = process.env.HA_USER ?? "dev";
const password = process.env.HA_PASSWORD ?? "ultrasonic-dev";
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
// Generous: on a loaded 2-core CI machine the first frontend load takes a while.
page.setDefaultTimeout(120_000);
// A test instance on a non-default port is asked (whenever) to confirm its HTTP settings.
await page.addLocatorHandler(
  page.getByText("Confirm new HTTP server configuration"),
  async () => page.getByRole("button", { name: "Confirm", exact: true }).click(),
);
const shot = async (name) => page.screenshot({ path: `${outDir}/${name}.png` });

try {
  // Log in.
  await page.goto(`${url}/`, { waitUntil: "commit" });
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  // Logged in once the app shell shows the sidebar (no wait for the full "load").
  await page.getByText("Settings", { exact: true }).first().waitFor();

  // Settings → Devices & services → Add integration.
  await page.goto(`${url}/config/integrations/dashboard`, { waitUntil: "commit" });
  await page.getByRole("button", { name: /add integration/i }).click();
  await page.getByPlaceholder("Search for a brand name").fill("Ultrasonic");
  await page.getByText("Ultrasonic Presence", { exact: true }).first().click();

  // Step 1: source.
  await page.getByText("Choose the ultrasonic sensor").waitFor();
  await page.getByText("Simulated room").first().click();
  await shot("01-source");
  await page.getByRole("button", { name: /^(next|submit)$/i }).click();

  // Calibration runs with a progress step, then shows its result.
  await page.getByText("Calibration done").waitFor({ timeout: 120_000 });
  await shot("02-calibration");
  await page.getByRole("button", { name: /^(next|submit)$/i }).click();

  // Success dialog (device created; area optional) → finish.
  await page.getByRole("button", { name: /finish/i }).click();

  // Device page with the occupancy entity.
  await page.goto(`${url}/config/devices/dashboard`, { waitUntil: "commit" });
  await page.getByText("Simulated room").first().click();
  await page.getByText("Occupancy").first().waitFor();
  // The runner's own CPU load: unknown for its first 5 s, then a number (read from the
  // frontend's state, as the page shows it).
  const loadState = () => {
    const hass = document.querySelector("home-assistant")?.hass;
    const state = hass?.states["sensor.simulated_room_processing_load"]?.state;
    return state !== undefined && /^\d+(\.\d+)?$/.test(state) ? state : null;
  };
  const load = await page.waitForFunction(loadState, null, { timeout: 60_000 });
  console.log(`processing load: ${await load.jsonValue()} %`);
  await page.waitForTimeout(500); // the row re-renders with the value
  await shot("03-device");
  console.log(`device page: ${page.url()}`);
} catch (err) {
  await shot("error");
  console.error(err);
  process.exitCode = 1;
} finally {
  await browser.close();
}

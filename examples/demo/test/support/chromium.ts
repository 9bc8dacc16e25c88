/**
 * Real-browser tests: Debian's Chromium driven by playwright-core. Where Chromium is not installed
 * the suites skip, and say why; CI sets REQUIRE_BROWSER=1, which turns a missing browser into a
 * failure instead.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDemo, type Demo, type DemoProfile } from '../../src/demo.js';
import { freePort } from '../../../../packages/gatehouse/test/support/stack.js';

const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots land here (gitignored); CI keeps the folder as an artifact. */
export const ARTIFACTS = fileURLToPath(new URL('../../../../.artifacts/', import.meta.url));

/** `false` when the browser suites can run; otherwise why they skip. */
export function browserUnavailable(): string | false {
  if (existsSync(EXECUTABLE) || process.env.REQUIRE_BROWSER === '1') return false;
  return `no Chromium at ${EXECUTABLE} (apt-get install -y chromium; CI sets REQUIRE_BROWSER=1)`;
}

/** The machine has no outside network; without these Chromium keeps trying to reach Google. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ['--headless', ...CHROMIUM_ARGS] });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

/** The demo on free ports (`publicUrl`: where an HTTPS front in front of it is reached). */
export async function startTestDemo(
  profile: DemoProfile = 'standard',
  env = process.env,
  options: { app?: number; publicUrl?: string } = {},
): Promise<Demo> {
  return startDemo(
    {
      app: options.app ?? (await freePort()),
      idp: await freePort(),
      api: await freePort(),
      profile: await freePort(),
      admin: await freePort(),
    },
    env,
    profile,
    { publicUrl: options.publicUrl },
  );
}

/** On the demo provider's sign-in page: fill in the form and submit it. */
export async function signInAtProvider(page: Page, username: string, password = username): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The newest ID token the demo provider issued to `sub` (it names the provider session, `sid`). */
export function lastIdToken(demo: Demo, sub: string): string {
  const idTokens = demo.idp.issuedTokens().filter((t) => t.split('.').length === 3 && decodeJwt(t).sid);
  const token = idTokens.findLast((t) => decodeJwt(t).sub === sub);
  assert.ok(token, `an ID token for ${sub}`);
  return token;
}

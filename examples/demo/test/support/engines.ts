/**
 * The three browser engines, each from Debian and each driven over a W3C automation protocol:
 *   chromium  Debian's Chromium, over WebDriver BiDi (puppeteer-core)
 *   firefox   Debian's Firefox ESR, over WebDriver BiDi (puppeteer-core; Firefox speaks it natively)
 *   webkit    WebKitGTK's MiniBrowser under Xvfb, over WebDriver classic (selenium-webdriver and
 *             WebKitWebDriver from webkit2gtk-driver: WebKitGTK has no BiDi yet)
 * behind one small interface, so one test body runs in all three. What a test needs beyond
 * navigating, running a script in the page and reading cookies is built on those (see `waitFor`).
 *
 * Where an engine is missing its suites skip and say why; CI sets REQUIRE_BROWSER=1, which turns
 * a missing engine into a failure instead. `BROWSER_ENGINES=firefox` runs one engine alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import puppeteer, { type Browser as PuppeteerBrowser, type Page as PuppeteerPage } from 'puppeteer-core';
import { Builder, type WebDriver } from 'selenium-webdriver';
import { freePort } from '../../../../packages/gatehouse/test/support/stack.js';
import { ARTIFACTS, CHROMIUM_ARGS } from './chromium.js';

export const ENGINES = ['chromium', 'firefox', 'webkit'] as const;
export type EngineName = (typeof ENGINES)[number];

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
const WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const XVFB = '/usr/bin/Xvfb';

/** The longest one automation command may wait (a page load, a script), well under a step's limit. */
const COMMAND_TIMEOUT_MS = 20_000;

/** The files each engine needs, and the Debian packages that bring them. */
const NEEDS: Record<EngineName, { files: string[]; packages: string }> = {
  chromium: { files: [CHROMIUM], packages: 'chromium' },
  firefox: { files: [FIREFOX], packages: 'firefox-esr' },
  webkit: { files: [WEBKIT_DRIVER, MINIBROWSER, XVFB], packages: 'webkit2gtk-driver xvfb' },
};

/** The engines asked for (BROWSER_ENGINES=firefox,webkit), default all. */
export function selectedEngines(): EngineName[] {
  const asked = process.env.BROWSER_ENGINES?.split(',').map((name) => name.trim());
  return ENGINES.filter((engine) => !asked || asked.includes(engine));
}

/** `false` when `engine` can run; otherwise why its suites skip. Missing under REQUIRE_BROWSER=1: the run fails. */
export function engineUnavailable(engine: EngineName): string | false {
  const missing = NEEDS[engine].files.filter((file) => !existsSync(file));
  if (missing.length === 0) return false;
  const why = `${engine}: ${missing.join(', ')} missing (apt-get install -y ${NEEDS[engine].packages})`;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(`${why}, and REQUIRE_BROWSER=1`);
  return `${why}; CI sets REQUIRE_BROWSER=1`;
}

export interface EngineCookie {
  name: string;
  value: string;
  domain: string;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  /** As the engine reports it: "Strict", "Lax" or "None". */
  sameSite: string;
}

/** One page of one engine. */
export interface EnginePage {
  readonly engine: EngineName;
  /** The browser's own version string. */
  readonly version: string;
  goto(url: string): Promise<void>;
  url(): Promise<string>;
  /**
   * Runs `script` in the page: an expression (a promise is awaited) whose value must survive
   * JSON. A string, not a function: the test runner's transpiler would add helpers the page lacks.
   */
  evaluate<T>(script: string): Promise<T>;
  /** Every cookie the browser holds. */
  cookies(): Promise<EngineCookie[]>;
  /** A PNG of the viewport into .artifacts/<engine>-<name>.png. */
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openEngine(engine: EngineName): Promise<EnginePage> {
  return engine === 'webkit' ? openWebKit() : openOverBidi(engine);
}

/** Chromium and Firefox over WebDriver BiDi. */
async function openOverBidi(engine: 'chromium' | 'firefox'): Promise<EnginePage> {
  const browser: PuppeteerBrowser = await puppeteer.launch(
    engine === 'firefox'
      ? {
          browser: 'firefox',
          executablePath: FIREFOX,
          protocolTimeout: COMMAND_TIMEOUT_MS,
          headless: true,
          // The tests' HTTPS fronts have certificates of the tests' own CA.
          acceptInsecureCerts: true,
          // No outside network here: nothing to update, report or fetch.
          extraPrefsFirefox: {
            'app.update.enabled': false,
            'datareporting.policy.dataSubmissionEnabled': false,
            'browser.safebrowsing.malware.enabled': false,
            'browser.safebrowsing.phishing.enabled': false,
            'network.captive-portal-service.enabled': false,
          },
        }
      : {
          browser: 'chrome',
          protocol: 'webDriverBiDi',
          protocolTimeout: COMMAND_TIMEOUT_MS,
          executablePath: CHROMIUM,
          headless: true,
          acceptInsecureCerts: true,
          args: CHROMIUM_ARGS,
        },
  );
  const page: PuppeteerPage = await browser.newPage();
  return {
    engine,
    version: await browser.version(),
    goto: async (url) => void (await page.goto(url, { waitUntil: 'load' })),
    url: async () => page.url(),
    evaluate: (script) => page.evaluate(script) as never,
    cookies: async () =>
      (await browser.cookies()).map((c) => ({
        name: c.name,
        value: c.value,
        domain: c.domain,
        path: c.path,
        httpOnly: c.httpOnly === true,
        secure: c.secure,
        sameSite: c.sameSite ?? 'None',
      })),
    screenshot: async (name) => {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}${engine}-${name}.png` });
    },
    close: () => browser.close(),
  };
}

/** WebKitGTK: MiniBrowser in a virtual X display, over WebKitWebDriver (one session per driver). */
async function openWebKit(): Promise<EnginePage> {
  const children: ChildProcess[] = [];
  const stop = () => children.forEach((child) => child.kill());
  try {
    // Xvfb picks a free display itself and writes its number to fd 3.
    const xvfb = spawn(XVFB, ['-displayfd', '3', '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    children.push(xvfb);
    const display = `:${await firstLine(xvfb)}`;
    const port = await freePort();
    children.push(
      spawn(WEBKIT_DRIVER, [`--port=${port}`, '--host=127.0.0.1'], {
        stdio: 'ignore',
        env: { ...process.env, DISPLAY: display },
      }),
    );
    const driver: WebDriver = await connectWithRetry(port);
    // A command that waits on a page (a load, a script) gives up in time for the test to say which.
    await driver.manage().setTimeouts({ pageLoad: COMMAND_TIMEOUT_MS, script: COMMAND_TIMEOUT_MS });
    const version = String((await driver.getCapabilities()).get('browserVersion'));
    return {
      engine: 'webkit',
      version: `WebKitGTK ${version}`,
      goto: (url) => driver.get(url),
      url: () => driver.getCurrentUrl(),
      // WebDriver classic awaits a promise the script returns.
      evaluate: (script) => driver.executeScript(`return (${script});`) as never,
      cookies: async () =>
        (await driver.manage().getCookies()).map((c) => ({
          name: c.name,
          value: c.value,
          domain: c.domain ?? '',
          path: c.path ?? '/',
          httpOnly: c.httpOnly === true,
          secure: c.secure === true,
          sameSite: c.sameSite ?? 'None',
        })),
      screenshot: async (name) => {
        mkdirSync(ARTIFACTS, { recursive: true });
        writeFileSync(`${ARTIFACTS}webkit-${name}.png`, Buffer.from(await driver.takeScreenshot(), 'base64'));
      },
      close: async () => {
        await driver.quit().catch(() => {});
        stop();
      },
    };
  } catch (error) {
    stop();
    throw error;
  }
}

/** The first line a child writes to its fd 3. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before naming its display`)));
  });
}

/** The driver and its X display take a moment to come up. */
async function connectWithRetry(port: number): Promise<WebDriver> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Builder()
        .usingServer(`http://127.0.0.1:${port}`)
        .withCapabilities({
          browserName: 'MiniBrowser',
          acceptInsecureCerts: true,
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
        })
        .build();
    } catch (error) {
      if (attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Waits until `condition` (a script, as for evaluate) is truthy in the page, retrying through
 * navigations (a script cannot run while the next page loads). Fails naming `what`.
 */
export async function waitFor(page: EnginePage, condition: string, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      // One evaluation may hang while the page navigates: give it up and ask again.
      if (await within(3_000, what, page.evaluate<boolean>(`!!(${condition})`))) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const at = await page.url().catch(() => '?');
      throw new Error(
        `${page.engine}: waited ${timeoutMs} ms for ${what} (at ${at})${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the page's URL is `url` (or starts with it, for a prefix ending in "/"). */
export async function waitForUrl(page: EnginePage, url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await page.url().catch(() => '');
    if (url.endsWith('/**') ? at.startsWith(url.slice(0, -2)) : at === url) return;
    if (Date.now() > deadline) throw new Error(`${page.engine}: waited for ${url}, at ${at}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `promise`, or a failure naming `what` once `ms` have passed: a hang says where it hung. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Clicks the button or link whose text is `text` (as a user would find it), once it is there. */
export async function clickText(page: EnginePage, text: string): Promise<void> {
  const find = `[...document.querySelectorAll('button, a, input[type=submit]')]
      .find((e) => (e.innerText ?? e.value ?? '').trim() === ${JSON.stringify(text)})`;
  await waitFor(page, find, `something to click called ${text}`);
  // After this script has answered: the click may leave the page.
  await page.evaluate(`(() => { const target = ${find}; setTimeout(() => target.click(), 0); })()`);
}

/** True while an element matching `selector` contains `text`. */
export const shows = (selector: string, text: string) =>
  `[...document.querySelectorAll(${JSON.stringify(selector)})].some((e) => e.innerText.includes(${JSON.stringify(text)}))`;

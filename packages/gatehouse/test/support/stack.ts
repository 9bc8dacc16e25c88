/**
 * A whole stack for integration tests, all real and on loopback: the demo OpenID Provider on
 * "localhost" (a different site from the app, as in production), a recording upstream, and
 * Gatehouse on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startDemoIdp, type DemoClient, type DemoIdp, type DemoIdpOptions } from '../../../../examples/demo/src/idp.js';
import { DEMO_OTP } from '../../../../examples/demo/src/step-up.js';
import { createGatehouse, type Extension, type Gatehouse } from '../../src/index.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { TestBrowser, isRedirect, type SeenResponse } from './browser.js';
import { startUpstream, type TestUpstream } from './upstream.js';

export interface Stack {
  app: string;
  admin: string;
  idp: DemoIdp;
  upstream: TestUpstream;
  gatehouse: Gatehouse;
  clientSecret: string;
  /** The configuration this stack's Gatehouse was built from. */
  config: GatehouseConfigInput;
  /**
   * Another Gatehouse instance with the same configuration (sharing the store), on its own port,
   * optionally changed (e.g. other secrets).
   */
  peer(change?: (config: GatehouseConfigInput) => GatehouseConfigInput): Promise<{ url: string; gatehouse: Gatehouse }>;
  close(): Promise<void>;
}

export interface StackOptions {
  idp?: Partial<DemoIdpOptions>;
  /** How the client is registered at the provider (Gatehouse's own setting is in `gatehouse`). */
  registeredClientAuth?: 'client_secret_basic' | 'client_secret_post';
  /** Changes Gatehouse's registration at the provider (auth method, keys, DPoP...). */
  client?: (registration: DemoClient, app: string) => DemoClient;
  /** Receives Gatehouse's log lines instead of standard output. */
  logStream?: { write(line: string): void };
  /** Merged over the default Gatehouse configuration (top-level keys replace, oidc/session merge). */
  gatehouse?: (defaults: GatehouseConfigInput) => GatehouseConfigInput;
  /** Extensions given through the library API. */
  extensions?: readonly Extension[];
}

export const CLIENT_ID = 'gatehouse-test';

/**
 * A port nothing listens on, for servers whose URL must be known before they start. Picked below
 * Linux's ephemeral range (32768+): a port the kernel handed out (listen(0) or any outgoing
 * connection of the parallel test files) could be taken again before our server binds it. The test
 * files of one run (one parent process) claim each port with a file of their own, so two of them
 * never pick the same one before either has bound it.
 */
const handedOut = new Set<number>();
const claims = join(tmpdir(), `gatehouse-test-ports-${process.ppid}`);

function claimed(port: number): boolean {
  try {
    mkdirSync(claims, { recursive: true });
    closeSync(openSync(join(claims, String(port)), 'wx'));
    return false;
  } catch {
    return true;
  }
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || claimed(port)) continue; // given to a server that may not have bound it yet
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    await new Promise((resolve) => server.close(resolve));
    handedOut.add(port);
    return port;
  }
}

/** Gatehouse's registration at the test provider, for an app served at `app`. */
export function testClient(app: string, clientSecret: string): DemoClient {
  return {
    clientId: CLIENT_ID,
    clientSecret,
    redirectUris: [`${app}/api/auth/callback`],
    postLogoutRedirectUris: [`${app}/`],
    backchannelLogoutUri: `${app}/api/auth/backchannel-logout`,
  };
}

/** What a stack is made of before Gatehouse starts: its address, provider, upstream and configuration. */
export interface StackParts {
  port: number;
  app: string;
  clientSecret: string;
  upstream: TestUpstream;
  idp: DemoIdp;
  config: GatehouseConfigInput;
}

/** The provider, the upstream and the configuration of a stack (Gatehouse to be started on `port`). */
export async function stackParts(options: StackOptions = {}): Promise<StackParts> {
  const port = await freePort();
  const app = `http://127.0.0.1:${port}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const upstream = await startUpstream();
  const registration = { ...testClient(app, clientSecret), tokenEndpointAuthMethod: options.registeredClientAuth };
  const idp = await startDemoIdp({
    publicHost: 'localhost',
    clients: [options.client ? options.client(registration, app) : registration],
    ...options.idp,
  });
  const defaults: GatehouseConfigInput = {
    publicUrl: app,
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: process.env.TEST_LOG_LEVEL === undefined ? 'silent' : (process.env.TEST_LOG_LEVEL as 'info') },
    oidc: {
      issuer: idp.issuer,
      clientId: CLIENT_ID,
      clientSecret,
      allowInsecureHttp: true,
      scopes: ['openid', 'profile', 'email', 'offline_access', 'orders:read'],
    },
    session: { secrets: [randomBytes(32).toString('base64url')] },
    routes: [{ path: '/orders', upstream: `${upstream.url}/orders` }],
  };
  const config = options.gatehouse ? options.gatehouse(defaults) : defaults;
  return { port, app, clientSecret, upstream, idp, config };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { app, clientSecret, upstream, idp, config } = await stackParts(options);
  const gatehouse = await createGatehouse(config, { logStream: options.logStream, extensions: options.extensions });
  const { adminUrl } = await gatehouse.listen().catch(async (error: unknown) => {
    // Leave nothing running: open servers would keep the test process alive after the failure.
    await Promise.allSettled([gatehouse.close(), idp.close(), upstream.close()]);
    throw error;
  });
  const peers: Gatehouse[] = [];
  return {
    app,
    admin: adminUrl!,
    idp,
    upstream,
    gatehouse,
    clientSecret,
    config,
    async peer(change = (c: GatehouseConfigInput) => c) {
      const peer = await createGatehouse(
        change({ ...config, server: { ...config.server, port: 0 }, admin: { ...config.admin, port: 0 } }),
        { extensions: options.extensions },
      );
      peers.push(peer);
      const { url } = await peer.listen();
      return { url, gatehouse: peer };
    },
    async close() {
      await Promise.all([gatehouse, ...peers].map((g) => g.close()));
      await Promise.all([idp.close(), upstream.close()]);
    },
  };
}

/** Where to sign in: the app's origin and its provider. */
export interface SignInTarget {
  app: string;
  idp: { issuer: string };
}

export interface SignInOptions {
  username?: string;
  password?: string;
  returnTo?: string;
  /** More parameters of /auth/login (prompt, ...). */
  login?: Record<string, string>;
  /** The one-time code, when the provider's page asks for one (a step-up); default: the demo's. */
  otp?: string;
}

/** How the provider hands the authorization response back: a redirect, or (form_post) a page that POSTs it. */
export type ProviderAnswer = { url: URL } | { url: URL; form: string };

/**
 * Drives a sign-in through the provider's own login form, like a user would, up to the point where
 * the provider sends the browser back; returns that answer without delivering it.
 */
export async function providerAnswer(
  browser: TestBrowser,
  stack: SignInTarget,
  options: SignInOptions = {},
): Promise<ProviderAnswer> {
  const params = new URLSearchParams(options.login);
  if (options.returnTo !== undefined) params.set('returnTo', options.returnTo);
  const query = params.size === 0 ? '' : `?${params}`;
  const callbackUrl = `${stack.app}/api/auth/callback`;
  let current = `${stack.app}/api/auth/login${query}`;
  let response = await browser.request(current, { navigate: true });
  for (let steps = 0; steps < 20; steps++) {
    if (isRedirect(response.status)) {
      const next = new URL(response.headers.get('location')!, current);
      if (next.href.startsWith(callbackUrl)) return { url: next };
      response = await browser.request(next.href, { navigate: true, from: current });
      current = next.href;
      continue;
    }
    const action = /action="([^"]+)"/.exec(response.body)?.[1];
    if (response.status !== 200 || !action) {
      const text = response.body.replace(/<style[^]*?<\/style>|<[^>]+>/g, ' ').replace(/\s+/g, ' ');
      throw new Error(`unexpected page during sign-in: ${response.status} ${text.slice(0, 300)}`);
    }
    const formUrl = new URL(unescapeHtml(action), current);
    // The provider's auto-submitting form_post page: its hidden inputs are the response.
    if (formUrl.href === callbackUrl) return { url: formUrl, form: hiddenInputs(response.body) };
    const credentials = {
      username: options.username ?? 'alice',
      password: options.password ?? 'alice',
      ...(/name="otp"/.test(response.body) && { otp: options.otp ?? DEMO_OTP }),
    };
    response = await browser.request(formUrl.href, {
      method: 'POST',
      navigate: true,
      from: current,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(credentials).toString(),
    });
    current = formUrl.href;
  }
  throw new Error('sign-in did not come back to the callback');
}

/** The callback URL the provider redirects to (query response modes). */
export async function authorizationResponse(
  browser: TestBrowser,
  stack: SignInTarget,
  options: SignInOptions = {},
): Promise<URL> {
  const answer = await providerAnswer(browser, stack, options);
  if ('form' in answer) throw new Error('the provider answered with form_post');
  return answer.url;
}

/** Delivers the provider's answer to the callback, as the browser would: a cross-site navigation (GET, or POST for form_post). */
export function deliver(browser: TestBrowser, stack: SignInTarget, answer: ProviderAnswer): Promise<SeenResponse> {
  if (!('form' in answer)) return browser.request(answer.url.href, { navigate: true, from: stack.idp.issuer });
  return browser.request(answer.url.href, {
    method: 'POST',
    navigate: true,
    from: stack.idp.issuer,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: answer.form,
  });
}

/** Signs in completely; returns Gatehouse's answer at the callback (a redirect to returnTo). */
export async function signIn(
  browser: TestBrowser,
  stack: SignInTarget,
  options: SignInOptions = {},
): Promise<SeenResponse> {
  return deliver(browser, stack, await providerAnswer(browser, stack, options));
}

function unescapeHtml(text: string): string {
  return text.replace(
    /&(amp|quot|lt|gt|#39|#x27);/g,
    (_, name: string) => ({ amp: '&', quot: '"', lt: '<', gt: '>', '#39': "'", '#x27': "'" })[name]!,
  );
}

function hiddenInputs(html: string): string {
  const form = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    form.append(unescapeHtml(name!), unescapeHtml(value!));
  }
  return form.toString();
}

/** Every token the provider issued that appears in anything the browser received. */
export function leakedTokens(browser: TestBrowser, stack: Pick<Stack, 'idp'>): string[] {
  // A JWT's signature alone identifies it; look for that too, not only the whole string.
  const tokens = stack.idp.issuedTokens().flatMap((t) => (t.split('.').length === 3 ? [t, t.split('.')[2]!] : [t]));
  const leaks: string[] = [];
  for (const response of browser.seen) {
    const visible = [response.body, ...[...response.headers].map(([name, value]) => `${name}: ${value}`)].join('\n');
    for (const token of tokens) if (visible.includes(token)) leaks.push(`${response.url} carries a token`);
  }
  return leaks;
}

/** The provider's introspection of `token` (RFC 7662), asked with Gatehouse's client credentials. */
export async function introspect(stack: Stack, token: string): Promise<{ active: boolean }> {
  const response = await fetch(`${stack.idp.issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${stack.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  });
  return (await response.json()) as { active: boolean };
}

// Debian's Chromium driven by playwright-core (no downloaded browser): each session is its own browser
// profile in a fresh temporary user-data-dir, so two sessions never share cookies.
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
export const SCREENSHOTS = join(process.cwd(), 'test-results');

export interface Session {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openSession(): Promise<Session> {
  const dir = await mkdtemp(join(tmpdir(), 'disburse-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Signs in on the console at `base` with an API key or payee token; resolves once the shell shows who. */
export async function signIn(s: Session, base: string, credential: string): Promise<void> {
  await s.page.goto(`${base}/console/#/signin`);
  await s.page.locator('input[name=credential]').fill(credential);
  await s.page.getByRole('button', { name: 'Sign in' }).click();
  await s.page.getByTestId('who').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
}

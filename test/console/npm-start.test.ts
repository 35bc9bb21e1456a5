// `npm start` prints the console's URL, and the console it serves works from a fresh checkout's own files
// (no build step): Chromium opens the printed URL and signs in with the operator key the first run printed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { type AppProcess, newSecrets, startApp, untilGone } from '../app/app-process.ts';
import { openSession, type Session, screenshot } from './browser.ts';

const root = await mkdtemp(join(tmpdir(), 'disburse-console-start-'));
let app: AppProcess | undefined;
let browser: Session | undefined;

afterAll(async () => {
  await browser?.close();
  if (app && app.child.exitCode === null) {
    app.child.kill('SIGTERM');
    await app.exited;
    await untilGone(app.appPid);
  }
  await rm(root, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints the console URL, which serves a console an operator signs in to', async () => {
    app = await startApp(root, newSecrets(), { via: 'npm', firstRun: true });
    const printed = /Console\s+(http:\/\/\S+)/.exec(app.output())?.[1];
    expect(printed).toBe(`${app.apiUrl}/console/`);

    const page = await fetch(printed!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<title>Disburse console</title>');

    const operatorKey = app.keys.operator;
    expect(operatorKey).toMatch(/^dsb_/);
    browser = await openSession();
    await browser.page.goto(printed!);
    await browser.page.locator('input[name=credential]').fill(operatorKey!);
    await browser.page.getByRole('button', { name: 'Sign in' }).click();
    await browser.page.getByTestId('who').getByText('(operator)').waitFor();
    await browser.page.getByRole('heading', { name: 'Payouts' }).waitFor();
    await screenshot(browser.page, 'npm-start-operator');

    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
  }, 300_000);
});

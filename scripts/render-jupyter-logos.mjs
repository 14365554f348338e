// Renders media/jupyter/logo-svg.svg to the PNG logos a Jupyter kernelspec carries (32 and 64 pixels),
// with Debian's chromium through playwright-core. Run it after changing the SVG; the PNGs are committed.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const dir = path.resolve('media/jupyter');
const svg = fs.readFileSync(path.join(dir, 'logo-svg.svg'), 'utf8');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  for (const size of [32, 64]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<html><body style="margin:0">${svg.replace(/width="64" height="64"/, `width="${size}" height="${size}"`)}</body></html>`);
    await page.screenshot({ path: path.join(dir, `logo-${size}x${size}.png`), omitBackground: true });
    await page.close();
  }
} finally {
  await browser.close();
}

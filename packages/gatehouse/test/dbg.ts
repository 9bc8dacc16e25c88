import { TestBrowser } from './support/browser.js';
import { startStack, authorizationResponse } from './support/stack.js';
const stack = await startStack();
const b = new TestBrowser();
try {
  await authorizationResponse(b, stack);
} catch (e) {
  console.log(String(e));
}
for (const s of b.seen.slice(0, 8))
  console.log(s.status, s.url, s.headers.get('location'), s.body.slice(0, 300).replace(/\s+/g, ' '));
await stack.close();

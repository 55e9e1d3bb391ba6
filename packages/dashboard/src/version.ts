// Shown in the page footer; test/handler.test.ts checks it matches package.json.
export const VERSION = '0.2.0';

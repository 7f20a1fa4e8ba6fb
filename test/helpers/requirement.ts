/**
 * Tests that need a program the machine may lack (redis-server). When it is missing, each
 * test is registered as skipped with the reason, so that the runner prints the reason and its
 * summary counts every one of them (a skipped `describe` hides its tests from the count),
 * and the hooks that would start the program are not registered at all.
 */
import { after as nodeAfter, before as nodeBefore, it as nodeIt, type TestContext } from 'node:test';

type Body = (t: TestContext) => void | Promise<void>;
type Hook = () => void | Promise<void>;

export interface TestsRequiring {
  it(name: string, body: Body): void;
  it(name: string, options: { timeout?: number }, body: Body): void;
  before(hook: Hook): void;
  after(hook: Hook): void;
}

/** `missing`: why the program cannot be used here, or undefined when it can. */
export function requiring(missing: string | undefined): TestsRequiring {
  return {
    it(name: string, optionsOrBody: { timeout?: number } | Body, body?: Body): void {
      const options = typeof optionsOrBody === 'function' ? {} : optionsOrBody;
      void nodeIt(name, { ...options, skip: missing }, typeof optionsOrBody === 'function' ? optionsOrBody : body);
    },
    before(hook: Hook): void {
      if (missing === undefined) nodeBefore(hook);
    },
    after(hook: Hook): void {
      if (missing === undefined) nodeAfter(hook);
    },
  };
}

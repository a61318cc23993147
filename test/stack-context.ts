/** What test/global-setup.ts provides to every test file through vitest's inject('stack'). */
export interface TestStack {
  temporalAddress: string;
  namespace: string;
  s3: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  /** The suite's payload-encryption key file (test/fixtures/codec-keys.json). */
  codecKeyFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

/**
 * A data row as readers and request bodies produce it: column name → value (numbers may still be
 * strings, e.g. CSV). Training encodes snapshot columns instead (columnar-encoder.ts); rows remain
 * for serving requests, prediction logs and drift samples.
 */
export type Row = Readonly<Record<string, unknown>>;

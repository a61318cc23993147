/**
 * The dataset manifest ingest writes next to each dataset version (activities/ingest.ts): the
 * source and its Parquet snapshot, the schema, the profile and the type errors. Read back by
 * validation and monitoring through `DatasetManifestSchema`.
 */
import { z } from 'zod';
import { ColumnRuleSchema } from '../spec/pipeline-spec';

const StoredObjectSchema = z.object({ uri: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256: 64 lowercase hex digits'), size: z.number().int().nonnegative() });

/** The same shape as DatasetRef (workflows/pipeline-types.ts), which travels through workflow history. */
export const StoredDatasetRefSchema = StoredObjectSchema.extend({
  format: z.enum(['csv', 'parquet', 'jsonl']),
  snapshot: StoredObjectSchema.optional(),
});

const TypeErrorSummarySchema = z.record(
  z.string(),
  z.object({
    expected: z.enum(['number', 'boolean', 'category', 'string']),
    count: z.number().int().nonnegative(),
    examples: z.array(z.object({ row: z.number().int(), value: z.string() })),
  }),
);

export const DatasetManifestSchema = z
  .object({
    format: z.literal('mlcycle-dataset/v2'),
    dataset: StoredDatasetRefSchema,
    source: z.string(),
    /** The schema the snapshot was typed with (declared or, with `schema: infer`, inferred). */
    schema: z.record(z.string(), ColumnRuleSchema).optional(),
    schemaInferred: z.boolean().optional(),
    /** Parsed with the profile's own schema (src/data/profile.ts) where it is used. */
    profile: z.unknown(),
    typeErrors: TypeErrorSummarySchema,
  })
  .loose();
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

import { z } from 'zod';

/** The JSON shape of `mlcycle status --json`: a user-facing contract, kept stable. */
export const StepStatusSchema = z.object({
  name: z.string(),
  state: z.enum(['pending', 'running', 'completed', 'failed', 'skipped']),
  attempts: z.number().int().nonnegative(),
  cached: z.boolean(),
  resumedFrom: z.number().optional(),
  progress: z.object({ done: z.number(), total: z.number() }).optional(),
  summary: z.string().optional(),
});

export const RunStatusSchema = z.object({
  workflowId: z.string(),
  runId: z.string().optional(),
  status: z.enum(['running', 'awaiting_approval', 'completed', 'failed', 'rejected', 'cancelled']),
  stage: z.string(),
  steps: z.array(StepStatusSchema),
  model: z.object({ name: z.string(), version: z.number().int() }).optional(),
  artifacts: z.record(z.string(), z.string()).optional(),
  error: z.string().optional(),
  webUiUrl: z.string().optional(),
});
export type RunStatus = z.infer<typeof RunStatusSchema>;

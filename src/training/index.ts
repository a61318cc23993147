/** Training: feature encoding, built-in trainers and their resumable loop, the command trainer, metrics and the evaluation report. */
export * from './row-matrix-adapter';
export * from './metrics';
export * from './trainers';
export * from './model-artifact';
export * from './command-trainer';
export * from './evaluation-report';

export * from './coerce';
export * from './dataset-reader';
export * from './profile';
export * from './scan';
export * from './split';
export * from './validate';

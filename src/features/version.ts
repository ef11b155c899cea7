import pkg from '../../package.json' with { type: 'json' };

export const TSRUNC_VERSION: string = pkg.version;

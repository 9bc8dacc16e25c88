// Parts of oidc-provider that are not in its typed API: its development in-memory adapter, the LRU
// that adapter stores records in, and the accessor of a provider's private state (see lib/idp.ts).
declare module 'oidc-provider/lib/helpers/lru.js' {
  export default class LRU {
    constructor(options: { maxSize: number });
  }
}
declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  export default class MemoryAdapter {
    constructor(model: string, store: unknown, clockTolerance?: number);
  }
}
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  export default function instance(provider: object): { Adapter: unknown };
}

/**
 * The models Versus routes to: `provider/model` names resolved to a provider and its model id.
 * Built once at start-up; the mock provider's list is read live, so models added through its
 * admin route become routable at once.
 */
import type { Provider } from './types.ts';

export interface ModelRoute {
  /** `provider/model`, as clients name it. */
  id: string;
  provider: Provider;
  /** The id at the provider. */
  upstreamModel: string;
}

export interface Catalogue {
  resolve(id: string): ModelRoute | undefined;
  list(): ModelRoute[];
  providers(): Provider[];
}

export function createCatalogue(providers: Provider[]): Catalogue {
  const byName = new Map(providers.map((p) => [p.name, p]));
  const routes = new Map<string, ModelRoute>();
  return {
    resolve(id) {
      const known = routes.get(id);
      if (known !== undefined) return known;
      const slash = id.indexOf('/');
      if (slash <= 0) return undefined;
      const provider = byName.get(id.slice(0, slash));
      const upstreamModel = id.slice(slash + 1);
      if (provider === undefined || !provider.models.includes(upstreamModel)) return undefined;
      const route = { id, provider, upstreamModel };
      routes.set(id, route);
      return route;
    },
    list() {
      return providers.flatMap((provider) =>
        provider.models.map((m) => ({ id: `${provider.name}/${m}`, provider, upstreamModel: m })),
      );
    },
    providers: () => [...providers],
  };
}

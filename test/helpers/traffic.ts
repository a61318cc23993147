/** Steady /predict traffic against a prediction server, as production would send it. */

/** One churn-example request row the serving tests send. */
export const CHURN_ROW = { customer_id: 'c1', tenure_months: 12, monthly_charges: 70, support_tickets: 2, plan: 'pro', region: 'north', autopay: true };

export interface Traffic {
  /** How many answers each model version gave. */
  readonly served: Map<number, number>;
  stop(): Promise<void>;
}

/** Sends one-row requests to `url`/predict every `pauseMs` until stopped; failures are ignored. */
export function startTraffic(url: string, pauseMs: number): Traffic {
  const served = new Map<number, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: [CHURN_ROW] }) }).catch(() => undefined);
      if (res?.ok) {
        const body = (await res.json()) as { version: number };
        served.set(body.version, (served.get(body.version) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    served,
    async stop() {
      running = false;
      await loop;
    },
  };
}

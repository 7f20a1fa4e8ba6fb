/**
 * Before a request under budgets is sent: may it go (pre-flight), to which model
 * (fallback), and with what output limit (clamp)?
 */
import type { PlannedCall } from '../core/adapter.js';
import { logInternalError } from '../core/safely.js';
import { roughTokenCounter } from '../core/tokenizer.js';
import type { Admission } from '../core/watch.js';
import type { Budget } from './budget.js';
import type { StoppedRequest } from './errors.js';
import { BudgetGuard, type BudgetContext } from './guard.js';
import { unitPrices } from './unit-prices.js';

/** `replan` plans the call again for a rewritten body (a fallback's model). */
export function admitRequest(
  call: PlannedCall,
  budgets: readonly Budget[],
  userBody: unknown,
  replan: (body: unknown) => PlannedCall | undefined,
  context: BudgetContext,
): Admission {
  let requestedModel: string | undefined;
  const fallback = chooseFallback(call, budgets, context);
  if (fallback && call.rewrite) {
    const replanned = replan(call.rewrite.model(userBody, fallback));
    if (replanned) {
      requestedModel = call.description.model;
      call = replanned;
    }
  }
  const { description, estimator } = call;
  const request: StoppedRequest = { provider: description.provider, operation: description.operation, model: description.model };
  // The exact count needs the tokenizer worker; the decision cannot wait for it (the SDK
  // call must return its promise now), so it is made on a rough count, corrected later.
  const roughInput = safeNumber(() => estimator.estimateInput(roughTokenCounter));
  const prices = unitPrices(description.provider, description.model, roughInput, context.pricing());
  const guard = new BudgetGuard(budgets, call, request, prices, requestedModel, context);
  if (!prices) return { call, watch: guard };

  const clamping = budgets.filter((budget) => budget.clampMaxTokens);
  if (clamping.length > 0 && call.rewrite && prices.outputUsdPerToken > 0) {
    const tightest = clamping.reduce((a, b) => (b.remainingUsd < a.remainingUsd ? b : a));
    const affordable = Math.floor((tightest.remainingUsd - prices.inputUsd) / prices.outputUsdPerToken);
    const body = affordable >= 1 ? call.rewrite.maxOutputTokens(call.body, affordable) : undefined;
    if (body === undefined) return { call, watch: guard, refusal: guard.refuse(tightest, prices.inputUsd) };
    if (body !== call.body) {
      guard.clampedMaxTokens = affordable;
      call = { ...call, body };
    }
  }

  const refusal = guard.reserve();
  return refusal ? { call, watch: guard, refusal } : { call, watch: guard };
}

function chooseFallback(call: PlannedCall, budgets: readonly Budget[], context: BudgetContext): string | undefined {
  const model = call.description.model;
  for (const budget of budgets) {
    const fallback = budget.fallback;
    if (!fallback || fallback.model === model || budget.limitUsd <= 0) continue;
    if (budget.spentUsd / budget.limitUsd < fallback.atShare) continue;
    const from = fallback.from === undefined ? undefined : ([] as string[]).concat(fallback.from);
    if (from && (model === undefined || !from.includes(model))) continue;
    // Only to a model this provider prices: a fallback must not send an OpenAI model name to Anthropic.
    if (!unitPrices(call.description.provider, fallback.model, 0, context.pricing())) continue;
    return fallback.model;
  }
  return undefined;
}

function safeNumber(fn: () => number): number {
  try {
    const value = fn();
    return Number.isFinite(value) && value >= 0 ? value : 0;
  } catch (error) {
    logInternalError('estimating a budgeted request', error);
    return 0;
  }
}

/** The OpenAI APIs recognised in plain HTTP requests (`costFetch`), planned as the SDK hooks plan them. */
import type { HttpEndpoint } from '../../core/http-endpoint.js';
import { planChatCompletion } from './chat.js';
import { planCompletion } from './completions.js';
import { responsesPlans } from './responses.js';
import type { OpenAIState } from './targets.js';

/** Base URLs name the API version (`https://api.openai.com/v1`), as OpenAI clients' `baseURL` does. */
const OPENAI_BASE_URLS = ['https://api.openai.com/v1'];

export function openaiHttpEndpoints(state: OpenAIState): HttpEndpoint[] {
  return [
    { label: 'openai chat.completions', paths: ['/chat/completions'], officialBaseURLs: OPENAI_BASE_URLS, plan: planChatCompletion },
    { label: 'openai responses', paths: ['/responses'], officialBaseURLs: OPENAI_BASE_URLS, plan: responsesPlans(state).create },
    { label: 'openai completions', paths: ['/completions'], officialBaseURLs: OPENAI_BASE_URLS, plan: planCompletion },
  ];
}

/** The Anthropic API recognised in plain HTTP requests (`costFetch`), planned as the SDK hook plans it. */
import type { HttpEndpoint } from '../../core/http-endpoint.js';
import { planMessage } from './messages.js';

export function anthropicHttpEndpoints(): HttpEndpoint[] {
  return [
    {
      label: 'anthropic messages',
      // The SDK's base URL has no version (`https://api.anthropic.com`); the AI SDK's and most
      // gateways' do (`.../v1`): both forms of a listed base URL are recognised.
      paths: ['/v1/messages', '/messages'],
      officialBaseURLs: ['https://api.anthropic.com'],
      plan: planMessage,
    },
  ];
}

// Reads [{headers, body}] (callbacks as received) as JSON on stdin; for each prints whether the
// Node SDK's ConversationCallbackWebhooks accepts the signature, and the trigger it parses.
'use strict';
const { ConversationCallbackWebhooks } = require('@sinch/sdk-core');

let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const hooks = new ConversationCallbackWebhooks(process.env.WEBHOOK_SECRET);
  const out = JSON.parse(input).map(({ headers, body }) => ({
    valid: hooks.validateAuthenticationHeader(headers, body),
    trigger: hooks.parseEvent(body).trigger,
  }));
  console.log('RESULT ' + JSON.stringify(out));
});

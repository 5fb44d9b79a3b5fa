// The Sinch Node SDK (@sinch/sdk-core 1.4.0) sending on a running openxms: an app and a signed
// webhook made through the SDK, one messages.send, and one Conversation batch through the SDK's
// authenticated ApiFetchClient (no SDK implements the Batch API). Prints RESULT <json>.
'use strict';
const { SinchClient } = require('@sinch/sdk-core');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

async function main() {
  const url = env('OPENXMS_URL');
  const conversation = new SinchClient({
    projectId: env('PROJECT_ID'), keyId: env('KEY_ID'), keySecret: env('KEY_SECRET'),
    conversationRegion: 'eu', authHostname: url, conversationHostname: url,
  }).conversation;
  const app = await conversation.app.create({ appCreateRequestBody: {
    display_name: 'Node sender',
    channel_credentials: [{ channel: 'SMS',
      static_bearer: { claimed_identity: env('PLAN_ID'), token: env('PLAN_TOKEN') } }],
  } });
  await conversation.webhooks.create({ webhookCreateRequestBody: {
    app_id: app.id, target: env('RECEIVER_URL'), triggers: ['MESSAGE_DELIVERY'], secret: env('WEBHOOK_SECRET'),
  } });
  const sent = await conversation.messages.send({ sendMessageRequestBody: {
    app_id: app.id,
    recipient: { identified_by: { channel_identities: [{ channel: 'SMS', identity: '+12017772001' }] } },
    message: { text_message: { text: 'Hello from Node' } },
    channel_properties: { SMS_SENDER: '12025550100' },
  } });

  const client = conversation.messages.client;  // the SDK's ApiFetchClient, with OAuth
  const batchUrl = `${url}/conversationbatch/v1/projects/${env('PROJECT_ID')}/messages`;
  const body = JSON.stringify({
    app_id: app.id, message: { text_message: { text: 'Hi ${name}' } },
    recipient_and_params: [
      { recipient: { identified_by: { channel_identities: [{ channel: 'SMS', identity: '+12017772002' }] } },
        parameters: { name: 'Ann' } }],
    channel_properties: { SMS_SENDER: '12025550100' }, batch_metadata: { from: 'node' },
  });
  const opts = await client.prepareOptions(batchUrl, 'POST', {},
    { 'Content-Type': 'application/json', Accept: 'application/json' }, body);
  const batch = await client.processCall({ url: batchUrl, requestOptions: opts, apiName: 'BatchApi',
    operationId: 'SendBatch' });
  console.log('RESULT ' + JSON.stringify({ app_id: app.id, message_id: sent.message_id,
    batch_id: batch.batch_id, send_after: String(batch.send_after) }));
}

main().catch((e) => { console.error(e); process.exit(1); });

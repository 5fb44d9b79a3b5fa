// The Sinch Node SDK (@sinch/sdk-core 1.4.0) against a running openxms: an app, a contact and
// a webhook made and read back through the SDK's own calls. Prints one JSON object of results
// on a line starting with RESULT (tests/e2e/test_sdk_conversation_node.py checks them); exits 1 with
// the error otherwise.
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
    display_name: 'Node shop',
    channel_credentials: [{ channel: 'SMS',
      static_bearer: { claimed_identity: env('PLAN_ID'), token: env('PLAN_TOKEN') } }],
  } });
  const renamed = await conversation.app.update({ app_id: app.id, update_mask: ['display_name'],
    appUpdateRequestBody: { display_name: 'Renamed', processing_mode: 'CONVERSATION' } });
  const apps = await conversation.app.list({});

  const contact = await conversation.contact.create({ contactCreateRequestBody: {
    channel_identities: [{ channel: 'SMS', identity: '+46701234567' }], language: 'EN_US', display_name: 'Ann',
  } });
  // Node sends query values unencoded: the `+` arrives as a space
  const found = await conversation.contact.list({ channel: 'SMS', identity: '+46701234567' });
  const updated = await conversation.contact.update({ contact_id: contact.id, update_mask: ['display_name'],
    updateContactRequestBody: { display_name: 'Bob' } });

  const webhook = await conversation.webhooks.create({ webhookCreateRequestBody: {
    app_id: app.id, target: 'https://hooks.example/node', triggers: ['MESSAGE_DELIVERY'], secret: 'node-secret',
  } });
  const triggers = await conversation.webhooks.update({ webhook_id: webhook.id, update_mask: ['triggers'],
    webhookUpdateRequestBody: { triggers: ['MESSAGE_SUBMIT'] } });
  const webhooks = await conversation.webhooks.list({ app_id: app.id });

  let missing = null;
  try {
    await conversation.app.get({ app_id: '01K0APP0000000000000000099' });
  } catch (e) {
    missing = { status: e.statusCode, data: e.data };
  }
  await conversation.webhooks.delete({ webhook_id: webhook.id });
  await conversation.app.delete({ app_id: app.id });
  await conversation.contact.delete({ contact_id: contact.id });
  const after = await conversation.app.list({});

  // one line of its own: the SDK writes debug lines to stdout too (the 404 above)
  console.log('RESULT ' + JSON.stringify({ app, renamed, apps, contact, found: found.data, hasNextPage: found.hasNextPage,
    updated, webhook, triggers, webhooks, missing, after }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e, e && e.data ? JSON.stringify(e.data) : '');
  process.exit(1);
});

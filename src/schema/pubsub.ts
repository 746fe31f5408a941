import type { PubSub } from 'type-graphql';

/**
 * type-graphql refuses to build a schema with subscriptions unless it is given
 * a PubSub, even when every subscription brings its own `subscribe` function
 * (ours read from the event-sourced read models, which already order and
 * persist everything, so there is nothing to publish in process). This one
 * makes a topic-based subscription fail loudly instead of never firing.
 */
export const ownSubscribeOnly: PubSub = {
  publish() {
    throw new Error('topic subscriptions are not used: give @Subscription a `subscribe` function');
  },
  subscribe() {
    throw new Error('topic subscriptions are not used: give @Subscription a `subscribe` function');
  },
};

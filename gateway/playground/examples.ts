/** A tab the playground opens with: an operation and its variables, as JSON text. */
export interface ExampleTab {
  query: string;
  variables: string;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

const ACCOUNT = { email: 'ada@example.com', password: 'a long passphrase' };

/**
 * The first steps on the platform, one tab each, in the order a newcomer takes them. A test
 * validates every one against the supergraph, so they keep up with the schema.
 */
export const EXAMPLE_TABS: readonly ExampleTab[] = [
  {
    query: `# Welcome! Run these tabs in order: Register (or Login), SendMessage, then
# GenerationEvents to watch the reply arrive token by token, and SearchMessages.
# The tabs after them shape the replies: models, conversation settings, your
# custom instructions, presets and memories, and what went into a reply's prompt.
#
# After a register or login, this page sends its access token with every request
# of this browser tab (Authorization: Bearer …). An Authorization header set in
# the Headers pane below is sent instead. Tokens last 15 minutes: log in again.
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    accessToken
    accessTokenExpiresAt
    refreshToken
    user {
      id
      email
      displayName
    }
  }
}
`,
    variables: json({ input: { ...ACCOUNT, displayName: 'Ada' } }),
  },
  {
    query: `# Signs in on a new session; the page keeps the access token for the other tabs.
mutation Login($input: LoginInput!) {
  login(input: $input) {
    accessToken
    refreshToken
    user {
      id
      displayName
    }
  }
}
`,
    variables: json({ input: ACCOUNT }),
  },
  {
    query: `# Stores your message and starts the reply at once (no conversationId: a new
# conversation). Copy generation.id into the variables of the GenerationEvents tab.
mutation SendMessage($input: SendMessageInput!) {
  sendMessage(input: $input) {
    conversation {
      id
      title
    }
    userMessage {
      id
      content
    }
    generation {
      id
      status
      model
    }
  }
}
`,
    variables: json({ input: { content: 'What is a supergraph?' } }),
  },
  {
    query: `# Streams a reply over WebSocket (graphql-ws): START, a TOKEN per piece of text,
# USAGE, then DONE. Events are kept for an hour: run it again, or resume with
# "after": <the last seq you saw>.
subscription GenerationEvents($id: ID!, $after: Int! = 0) {
  generation(id: $id, after: $after) {
    seq
    type
    delta
    error
    generation {
      status
      usage {
        totalTokens
      }
    }
  }
}
`,
    variables: json({ id: 'the generation.id that SendMessage answered', after: 0 }),
  },
  {
    query: `# Your messages closest in meaning to the query, best first, across every
# conversation (or within one: pass conversationId).
query SearchMessages($query: String!, $first: Int! = 5) {
  searchMessages(query: $query, first: $first) {
    score
    message {
      role
      content
    }
    conversation {
      id
      title
    }
  }
}
`,
    variables: json({ query: 'supergraph', first: 5 }),
  },
  {
    query: `# Every model of every configured provider: pass an id to a conversation's settings
# (or to sendMessage's model). One whose provider does not answer is available: false.
query Models {
  models {
    id
    displayName
    provider
    contextWindow
    outputTokenLimit
    capabilities
    available
    isDefault
  }
}
`,
    variables: '{}',
  },
  {
    query: `# A conversation with settings of its own: a model from the Models tab, a system
# prompt, sampling. A setting left out is the deployment's default; "presetId" starts
# from one of your presets. Send to it with SendMessage's "conversationId".
mutation CreateConversation($input: CreateConversationInput!) {
  createConversation(input: $input) {
    id
    title
    settings {
      model
      systemPrompt
      temperature
      maxOutputTokens
      recallEnabled
    }
  }
}
`,
    variables: json({
      input: {
        title: 'A terse assistant',
        settings: {
          model: 'offline/echo',
          systemPrompt: 'Answer in one sentence.',
          temperature: 0.2,
          maxOutputTokens: 256,
        },
      },
    }),
  },
  {
    query: `# Changes some settings of a conversation: a field left out stays as it is, null goes
# back to the default. The next reply uses them.
mutation UpdateConversationSettings($id: ID!, $settings: ConversationSettingsInput!) {
  updateConversationSettings(id: $id, settings: $settings) {
    id
    settings {
      model
      systemPrompt
      temperature
      recallEnabled
    }
  }
}
`,
    variables: json({
      id: 'a conversation id, from CreateConversation or SendMessage',
      settings: { temperature: 1, recallEnabled: false },
    }),
  },
  {
    query: `# Your custom instructions, put into every conversation that does not turn them off
# (settings.instructionsEnabled). "" clears one; one left out stays as it is.
mutation UpdateInstructions($input: InstructionsInput!) {
  updateInstructions(input: $input) {
    aboutMe
    howToAnswer
  }
}
`,
    variables: json({ input: { aboutMe: 'I write TypeScript.', howToAnswer: 'Briefly, with code.' } }),
  },
  {
    query: `# A named bundle of settings: CreateConversation with its id as "presetId" copies them.
# Listed by presets, changed by updatePreset, removed by deletePreset.
mutation CreatePreset($input: PresetInput!) {
  createPreset(input: $input) {
    id
    name
    settings {
      model
      systemPrompt
      temperature
    }
  }
}
`,
    variables: json({ input: { name: 'Terse', settings: { systemPrompt: 'Answer in one sentence.' } } }),
  },
  {
    query: `# Something the assistant should remember about you: it goes into the prompt of
# every conversation from now on, until forgetMemory forgets it.
mutation Remember($text: String!) {
  remember(text: $text) {
    id
    text
    createdAt
  }
}
`,
    variables: json({ text: 'I prefer metric units.' }),
  },
  {
    query: `# What the assistant remembers about you, and whether replies may draw on your
# other conversations (setRecallEnabled turns that off or on).
query Memories {
  me {
    memories {
      id
      text
      createdAt
    }
    recallEnabled
  }
}
`,
    variables: '{}',
  },
  {
    query: `# Why the assistant said what it said: the instructions, memories and messages of
# your other conversations that were put into a reply's prompt.
query GenerationContext($id: ID!) {
  generation(id: $id) {
    context {
      instructions {
        aboutMe
        howToAnswer
      }
      memories {
        text
      }
      recalled {
        score
        conversation {
          title
        }
        message {
          content
        }
      }
    }
  }
}
`,
    variables: json({ id: 'the generation.id that SendMessage answered' }),
  },
];

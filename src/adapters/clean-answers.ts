// A port whose answers are text from outside (a chat platform's messages, GitHub's check names and
// commit messages, the images and pod messages of a cluster), cleaned as they come in: what a job
// records of them (a step's result, a timeline line, a deploy's plan) stores alike on both databases.
import { cleanStrings, cleanText } from '../domain/clean-text.js';

/** An error's message and its own string fields (a refusal's reason), cleaned. */
function cleanError(error: unknown): unknown {
  if (error instanceof Error) {
    error.message = cleanText(error.message);
    const fields = error as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (typeof fields[key] === 'string') fields[key] = cleanText(fields[key]);
  }
  return error;
}

/** `port` with every method's answer (and failure) cleaned; its other properties as they are. */
export function cleanAnswers<T extends object>(port: T): T {
  // By the method itself, not its name: a method replaced on the port later is wrapped anew.
  const wrapped = new WeakMap<object, unknown>();
  return new Proxy(port, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      let method = wrapped.get(value);
      if (!method) {
        const call = value as (...args: unknown[]) => unknown;
        method = (...args: unknown[]) => {
          let answer: unknown;
          try {
            answer = call.apply(target, args);
          } catch (error) {
            throw cleanError(error);
          }
          return answer instanceof Promise
            ? answer.then(
                (resolved) => cleanStrings(resolved),
                (error: unknown) => Promise.reject(cleanError(error)),
              )
            : cleanStrings(answer);
        };
        wrapped.set(value, method);
      }
      return method;
    },
  });
}

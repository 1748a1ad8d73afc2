import type { ContainerType } from "type-graphql";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a class of any constructor signature
type Class<T> = abstract new (...args: any[]) => T;

/**
 * One app's resolvers (and the services its rules ask for), by class: TypeGraphQL's container. Read
 * from each request's context, not set once, because two apps can be built in one process and
 * TypeGraphQL keeps its build options globally.
 */
export class Instances implements ContainerType {
  private readonly byClass = new Map<Class<unknown>, unknown>();

  constructor(instances: Iterable<object>) {
    for (const instance of instances) this.byClass.set(instance.constructor as Class<unknown>, instance);
  }

  /** The instance of `type`; throws for a class nobody registered (a wiring mistake, found at once). */
  get<T>(type: Class<T>): T {
    const instance = this.byClass.get(type);
    if (instance === undefined) throw new Error(`no instance of ${type.name} was registered`);
    return instance as T;
  }
}

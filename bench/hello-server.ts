// The framework ceiling: a bare Fastify + Apollo Server answering `{ hello }`, nothing else.
import { ApolloServer } from "@apollo/server";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import Fastify from "fastify";

const http = Fastify({ logger: false });
const apollo = new ApolloServer({
  typeDefs: "type Query { hello: String! }",
  resolvers: { Query: { hello: () => "world" } },
  plugins: [fastifyApolloDrainPlugin(http)],
});
await apollo.start();
http.route({ url: "/graphql", method: ["GET", "POST"], handler: fastifyApolloHandler(apollo) });
const url = await http.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 4700) });
process.stdout.write(`listening ${url}\n`);

CREATE TABLE "deploy_health_signals" (
	"request_id" integer PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"actor" text NOT NULL,
	"at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deploy_health_signals" ADD CONSTRAINT "deploy_health_signals_request_id_deploy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."deploy_requests"("id") ON DELETE no action ON UPDATE no action;
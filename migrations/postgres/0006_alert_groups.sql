CREATE TABLE "alert_groups" (
	"id" serial PRIMARY KEY NOT NULL,
	"group_hash" text NOT NULL,
	"source" text NOT NULL,
	"receiver" text NOT NULL,
	"group_key" text NOT NULL,
	"service" text,
	"incident_id" integer,
	"declared" boolean DEFAULT false NOT NULL,
	"status" text NOT NULL,
	"alerts" jsonb NOT NULL,
	"card_ref" text,
	"first_delivery_at" bigint NOT NULL,
	"last_delivery_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "alert_groups" ADD CONSTRAINT "alert_groups_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "alert_groups_hash_idx" ON "alert_groups" USING btree ("group_hash");--> statement-breakpoint
CREATE INDEX "alert_groups_incident_idx" ON "alert_groups" USING btree ("incident_id");--> statement-breakpoint
CREATE INDEX "alert_groups_service_idx" ON "alert_groups" USING btree ("service","last_delivery_at");
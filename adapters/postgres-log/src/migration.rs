//! The decision log's schema, as sea-orm migrations applied at start-up.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateDecisionLog)]
    }
}

/// The `decisions` table and the indexes the contract's reads need: the
/// primary key for `GET /v1/decisions/{id}`, `seq` for pages newest first.
pub struct CreateDecisionLog;

impl MigrationName for CreateDecisionLog {
    fn name(&self) -> &str {
        "m20261124_000001_create_decision_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateDecisionLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE decisions (
                    decision_id            uuid PRIMARY KEY,
                    seq                    bigint GENERATED ALWAYS AS IDENTITY,
                    created_at             timestamptz NOT NULL,
                    source                 text NOT NULL CHECK (source IN ('model', 'cache')),
                    model_version          text NOT NULL,
                    decision               text NOT NULL CHECK (decision IN ('approve', 'decline')),
                    probability_of_default double precision NOT NULL,
                    request                jsonb NOT NULL,
                    response               jsonb NOT NULL
                );
                CREATE UNIQUE INDEX decisions_seq ON decisions (seq);
                CREATE INDEX decisions_created_at ON decisions (created_at);",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE decisions")
            .await?;
        Ok(())
    }
}

-- Snowflake task graph CHAMPION_CHALLENGER_DAG of champion-challenger, derived from the
-- prefect.yaml deployment 'weekly' ('flows.orchestration.pipeline.champion_challenger'): the same
-- schedule, the same parameters (the root task's CONFIG), the same step code.
-- Regenerate with `ccflows snowflake emit`; apply with `ccflows snowflake deploy`, or
-- run this script as it is with SnowSQL or `snow sql -f`.
-- Build the code archive first: `ccflows snowflake emit --archive /path/to/checkout` writes champion_challenger-0.1.0.zip there.

-- 1. The code, before anything stops: the package archive on a stage, the procedure running one step, and the one running one stage for a flow in warehouse mode (an unhosted package pin fails here).
CREATE STAGE IF NOT EXISTS DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE
  COMMENT = 'champion-challenger: code of the task graph procedure';

PUT 'file:///path/to/checkout/champion_challenger-0.1.0.zip' @DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE
  AUTO_COMPRESS = FALSE OVERWRITE = TRUE;

CREATE OR REPLACE PROCEDURE DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_STEP(STEP VARCHAR)
  RETURNS VARCHAR
  LANGUAGE PYTHON
  RUNTIME_VERSION = '3.11'
  PACKAGES = ('numpy==2.4.6', 'pandas==2.3.3', 'scikit-learn==1.9.1', 'snowflake-ml-python==2.6.0', 'snowflake-snowpark-python==1.56.0')
  IMPORTS = ('@DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE/champion_challenger-0.1.0.zip')
  HANDLER = 'deployments.procedures.run_step'
  COMMENT = 'champion-challenger: runs one step of the cycle with the Prefect flow''s step code'
  EXECUTE AS OWNER;

CREATE OR REPLACE PROCEDURE DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_STAGE(STAGE VARCHAR, REQUEST VARCHAR)
  RETURNS VARCHAR
  LANGUAGE PYTHON
  RUNTIME_VERSION = '3.11'
  PACKAGES = ('numpy==2.4.6', 'pandas==2.3.3', 'scikit-learn==1.9.1', 'snowflake-ml-python==2.6.0', 'snowflake-snowpark-python==1.56.0')
  IMPORTS = ('@DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_CODE/champion_challenger-0.1.0.zip')
  HANDLER = 'flows.backends.snowflake.stage_procedure.run_stage'
  COMMENT = 'champion-challenger: runs one heavy stage of the cycle inside Snowflake'
  EXECUTE AS OWNER;

-- 2. Stop the schedule; drop child tasks no longer in the graph.
ALTER TASK IF EXISTS DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG SUSPEND;

EXECUTE IMMEDIATE $$
DECLARE
  roots INTEGER DEFAULT 0;
  stale RESULTSET;
BEGIN
  SHOW TASKS IN SCHEMA DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER;
  SELECT COUNT(*) INTO :roots FROM TABLE(RESULT_SCAN(LAST_QUERY_ID())) WHERE "name" = 'CHAMPION_CHALLENGER_DAG';
  IF (roots = 0) THEN
    RETURN 'first deploy: no earlier graph';
  END IF;
  stale := (SELECT NAME FROM TABLE(DEV_AUTOMATION_DEMO.INFORMATION_SCHEMA.TASK_DEPENDENTS(TASK_NAME => 'DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG', RECURSIVE => TRUE)) WHERE NAME NOT IN ('CHAMPION_CHALLENGER_DAG', 'CHAMPION_CHALLENGER_DAG$WEEKLY_RETRAINING', 'CHAMPION_CHALLENGER_DAG$AUTO_DEPLOY_BEST_MODEL', 'CHAMPION_CHALLENGER_DAG$RECORD_OUTCOME'));
  LET stale_tasks CURSOR FOR stale;
  FOR t IN stale_tasks DO
    EXECUTE IMMEDIATE 'DROP TASK IF EXISTS DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER."' || REPLACE(t.NAME, '"', '""') || '"';
  END FOR;
  RETURN 'dropped the child tasks no longer in the graph';
END;
$$;

-- 3. The tasks, root first; Snowflake creates them suspended.
CREATE OR REPLACE TASK DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG
  WAREHOUSE = COMPUTE_WH
  SCHEDULE = 'USING CRON 1 1 * * 1 Asia/Singapore'
  CONFIG = $${"dry_run": false, "policy": "significance_margin", "policy_params": "{\"alpha\": 0.05, \"margin\": 0.0}", "settings": "{\"backend\": \"snowflake\", \"challenger_spec\": {\"estimator\": \"sklearn.ensemble.RandomForestClassifier\", \"params\": {\"class_weight\": \"balanced_subsample\", \"max_depth\": 12, \"min_samples_split\": 3, \"n_estimators\": 120, \"random_state\": 42}, \"scale\": true}, \"champion_spec\": {\"estimator\": \"sklearn.ensemble.RandomForestClassifier\", \"params\": {\"class_weight\": \"balanced\", \"max_depth\": 10, \"min_samples_split\": 5, \"n_estimators\": 100, \"random_state\": 42}, \"scale\": true}, \"contract\": {\"categorical\": [], \"features\": [\"applicant_age\", \"annual_income\", \"credit_score\", \"debt_to_income\", \"years_employed\", \"num_credit_cards\", \"has_mortgage\", \"education_score\", \"location_risk_score\"], \"id_column\": null, \"ignore\": [], \"label\": \"approved\", \"period\": \"week\", \"period_column\": \"week_number\", \"positive_label\": null, \"time_column\": \"application_date\"}, \"live\": {\"maturity\": 4, \"mode\": \"off\", \"params\": {}, \"policy\": \"sequential_margin\", \"share\": 0.1}, \"model_name\": \"CREDIT_APPROVAL\", \"snowflake\": {\"applications_table\": \"CREDIT_APPLICATIONS\", \"compute\": \"warehouse\", \"database\": \"DEV_AUTOMATION_DEMO\", \"evaluation_table\": \"EVALUATION_DATA\", \"ledger_table\": \"PROMOTION_LEDGER\", \"lock_table\": \"PROMOTION_LOCK\", \"network_timeout_seconds\": 570, \"schema\": \"CHAMPION_CHALLENGER\", \"stage_timeout_seconds\": 3300, \"statement_timeout_seconds\": 540, \"training_warehouse\": null, \"warehouse\": null}, \"windows\": {\"holdout\": 4, \"test\": 3, \"train\": 10}}"}$$
  ALLOW_OVERLAPPING_EXECUTION = FALSE
  USER_TASK_TIMEOUT_MS = 3600000
  SUSPEND_TASK_AFTER_NUM_FAILURES = 3
  COMMENT = 'champion-challenger: the prefect.yaml deployment ''weekly'' (flows.orchestration.pipeline.champion_challenger) as a task graph'
  TASK_AUTO_RETRY_ATTEMPTS = 2
AS
  select 'dag dummy root';

CREATE OR REPLACE TASK DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG$WEEKLY_RETRAINING
  WAREHOUSE = COMPUTE_WH
  USER_TASK_TIMEOUT_MS = 3600000
  COMMENT = 'Check the policy, then retrain the challenger on the newest weeks.'
  AFTER DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG
AS
  CALL DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_STEP('WEEKLY_RETRAINING');

CREATE OR REPLACE TASK DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG$AUTO_DEPLOY_BEST_MODEL
  WAREHOUSE = COMPUTE_WH
  USER_TASK_TIMEOUT_MS = 3600000
  COMMENT = 'Score both models on one hold-out; the policy decides; promote or keep.'
  AFTER DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG$WEEKLY_RETRAINING
AS
  CALL DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_STEP('AUTO_DEPLOY_BEST_MODEL');

CREATE OR REPLACE TASK DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG$RECORD_OUTCOME
  WAREHOUSE = COMPUTE_WH
  USER_TASK_TIMEOUT_MS = 3600000
  COMMENT = 'Make sure the run''s outcome is in the ledger, failures included.'
  FINALIZE = DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG
AS
  CALL DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_STEP('RECORD_OUTCOME');

-- 4. Resume the step tasks and the finalizer, then the root (starts the schedule).
ALTER TASK DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG$WEEKLY_RETRAINING RESUME;

ALTER TASK DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG$AUTO_DEPLOY_BEST_MODEL RESUME;

ALTER TASK DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG$RECORD_OUTCOME RESUME;

ALTER TASK DEV_AUTOMATION_DEMO.CHAMPION_CHALLENGER.CHAMPION_CHALLENGER_DAG RESUME;

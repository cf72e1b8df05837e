DROP TABLE classifier_models;
DROP TABLE classifier_corrections;

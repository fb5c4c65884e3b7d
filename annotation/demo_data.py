"""The demo project: eligibility criteria of ten fictional trials, written for Eligo.

Nothing here is copied from a corpus; trials, codes (``ELG-...``) and NCT-like ids
are invented, while drugs, tests and thresholds are realistic.

Each criterion is ``(nct_id, section, text, entities, relations, status)``:

- ``entities``: ``(surface, type)`` or ``(surface, type, occurrence)``. The surface
  must occur in the text as whole words; ``occurrence`` (0-based) is required
  when it occurs more than once. A tuple of surfaces is one discontinuous entity
  ("Acute ... pancreatitis"): each later fragment is the first match after the
  previous one.
- ``relations``: ``(head, tail, type)`` with head and tail as indexes into
  ``entities``.
- ``status``: ``"reviewed"`` or ``"done"`` for gold criteria, ``"new"`` (with no
  annotations) for the work left to annotators and the model.

Annotation conventions (see ``annotation/schema_presets.py``): values, ranges and
test results are ``Qualifier/modifier`` spans, the tail of ``has value`` from the
measurement, demographic, observation or drug they quantify; qualitative
modifiers are the tail of ``modified by``. A ``Refractory condition`` is the
condition together with the words saying it resists treatment ("Asthma
uncontrolled", "Relapsed or refractory multiple myeloma"), or just those words
when the condition is implicit ("Inadequate response"); the failed treatment is
its own span, linked by ``specified by``. "History of" is not annotated.
"""
from __future__ import annotations

import re

from annotation.schema_presets import (
    ANATOMIC_LOCATION as ANAT,
    CONDITION as C,
    DEMOGRAPHICS as DEM,
    DEVICE as DEV,
    DRUG,
    EVENT as EV,
    HAS_TEMPORAL_CONSTRAINT as WHEN,
    HAS_VALUE as VALUE,
    INVESTIGATIONAL_PRODUCT as IP,
    IS_LOCATED as WHERE,
    IS_NEGATED as NEGATED,
    IS_PERMITTED as PERMITTED,
    MEASUREMENT as MEAS,
    MODIFIED_BY as MOD,
    NEGATION_CUE as NEG,
    OBSERVATION as OBS,
    PERMISSION_CUE as PERM,
    PROCEDURE as PROC,
    QUALIFIER as Q,
    REFRACTORY_CONDITION as REF,
    SPECIFIED_BY as SPEC,
    TEMPORAL_CONSTRAINT as TEMP,
)
from mlcore.corpus.model import Document, Entity, Fragment, Relation, Sentence

INCLUSION, EXCLUSION = "inclusion", "exclusion"
GOLD_STATUSES = ("done", "reviewed")
STATUSES = ("new", *GOLD_STATUSES)

TRIAL_TITLES = {
    "NCT-DEMO-01": "ELG-101 once weekly as add-on to metformin in type 2 diabetes",
    "NCT-DEMO-02": "ELG-2204 plus fulvestrant in HR-positive, HER2-negative advanced breast cancer",
    "NCT-DEMO-03": "ELG-330 in chronic heart failure with reduced ejection fraction",
    "NCT-DEMO-04": "ELG-4410, an anti-IL-5 receptor antibody, in severe eosinophilic asthma",
    "NCT-DEMO-05": "ELG-510, an oral JAK inhibitor, in rheumatoid arthritis after methotrexate",
    "NCT-DEMO-06": "ELG-606 in chronic hepatitis B",
    "NCT-DEMO-07": "Adjunctive ELG-707 in treatment-resistant major depressive disorder",
    "NCT-DEMO-08": "ELG-808 in chronic kidney disease with type 2 diabetes",
    "NCT-DEMO-09": "ELG-909, an anti-PD-1 antibody, with chemotherapy in advanced NSCLC",
    "NCT-DEMO-10": "ELG-1010, a BCMA bispecific antibody, in relapsed or refractory myeloma",
}

_T01, _T02, _T03, _T04, _T05 = (f"NCT-DEMO-0{i}" for i in range(1, 6))
_T06, _T07, _T08, _T09, _T10 = (*(f"NCT-DEMO-0{i}" for i in range(6, 10)), "NCT-DEMO-10")

CRITERIA = [
    # --- T01: type 2 diabetes ----------------------------------------------------------
    (_T01, INCLUSION,
     "Men or women aged 18 to 75 years with type 2 diabetes mellitus diagnosed at least 6 months "
     "before screening",
     [("Men", DEM), ("women", DEM), ("aged", DEM), ("18 to 75 years", Q),
      ("type 2 diabetes mellitus", C), ("at least 6 months before screening", TEMP)],
     [(2, 3, VALUE), (4, 5, WHEN)], "reviewed"),
    (_T01, INCLUSION,
     "Type 2 diabetes inadequately controlled on metformin at a stable dose of at least "
     "1500 mg/day for at least 3 months before screening",
     [("Type 2 diabetes inadequately controlled", REF), ("metformin", DRUG), ("stable", Q),
      ("at least 1500 mg/day", Q), ("for at least 3 months before screening", TEMP)],
     [(0, 1, SPEC), (1, 2, MOD), (1, 3, VALUE), (1, 4, WHEN)], "reviewed"),
    (_T01, INCLUSION, "HbA1c between 7.5% and 10.5% (inclusive) at screening",
     [("HbA1c", MEAS), ("between 7.5% and 10.5%", Q), ("at screening", TEMP)],
     [(0, 1, VALUE), (0, 2, WHEN)], "done"),
    (_T01, INCLUSION,
     "Body mass index of 25 to 45 kg/m2 with stable body weight (less than 5% change) during "
     "the 3 months before screening",
     [("Body mass index", MEAS), ("25 to 45 kg/m2", Q), ("body weight", MEAS), ("stable", Q),
      ("less than 5% change", Q), ("during the 3 months before screening", TEMP)],
     [(0, 1, VALUE), (2, 3, MOD), (2, 4, VALUE), (2, 5, WHEN)], "done"),
    (_T01, INCLUSION,
     "Willing to self-inject ELG-101 or placebo once weekly with a prefilled pen",
     [("self-inject", PROC), ("ELG-101", IP), ("placebo", IP), ("once weekly", TEMP),
      ("prefilled pen", DEV)],
     [(0, 1, SPEC), (0, 2, SPEC), (0, 4, SPEC), (1, 3, WHEN), (2, 3, WHEN)], "reviewed"),
    (_T01, INCLUSION,
     "Able and willing to perform self-monitoring of blood glucose with the glucometer provided "
     "by the sponsor",
     [("self-monitoring of blood glucose", PROC), ("glucometer", DEV)],
     [(0, 1, SPEC)], "done"),
    (_T01, EXCLUSION, "Type 1 diabetes or latent autoimmune diabetes in adults",
     [("Type 1 diabetes", C), ("latent autoimmune diabetes in adults", C)], [], "reviewed"),
    (_T01, EXCLUSION,
     "Treatment with insulin or any GLP-1 receptor agonist within 90 days before screening, "
     "unless insulin was used for less than 14 days during an acute illness",
     [("insulin", DRUG, 0), ("GLP-1 receptor agonist", DRUG), ("any", Q),
      ("within 90 days before screening", TEMP), ("unless", PERM), ("insulin", DRUG, 1),
      ("for less than 14 days", TEMP), ("acute illness", C)],
     [(0, 3, WHEN), (1, 2, MOD), (1, 3, WHEN), (5, 4, PERMITTED), (5, 6, WHEN), (5, 7, SPEC)],
     "reviewed"),
    (_T01, EXCLUSION,
     "Personal or family history of medullary thyroid carcinoma or multiple endocrine neoplasia "
     "type 2",
     [("medullary thyroid carcinoma", C), ("thyroid", ANAT),
      ("multiple endocrine neoplasia type 2", C)],
     [(0, 1, WHERE)], "done"),
    (_T01, EXCLUSION,
     "Acute or chronic pancreatitis, or severe hypoglycemia requiring third-party assistance "
     "within the past 6 months",
     [(("Acute", "pancreatitis"), C), ("chronic pancreatitis", C), ("severe hypoglycemia", EV),
      ("requiring third-party assistance", Q), ("within the past 6 months", TEMP)],
     [(2, 3, MOD), (2, 4, WHEN)], "done"),
    (_T01, EXCLUSION,
     "Estimated glomerular filtration rate below 30 mL/min/1.73 m2 at screening",
     [("Estimated glomerular filtration rate", MEAS), ("below 30 mL/min/1.73 m2", Q),
      ("at screening", TEMP)],
     [(0, 1, VALUE), (0, 2, WHEN)], "done"),
    (_T01, EXCLUSION,
     "Systolic blood pressure above 160 mmHg or diastolic blood pressure above 100 mmHg at "
     "screening",
     [], [], "new"),
    (_T01, EXCLUSION,
     "Proliferative diabetic retinopathy or maculopathy requiring acute treatment",
     [], [], "new"),
    (_T01, EXCLUSION,
     "Use of any investigational drug within 30 days or five half-lives before screening, "
     "whichever is longer",
     [], [], "new"),
    # --- T02: breast cancer ------------------------------------------------------------
    (_T02, INCLUSION,
     "Women aged 18 years or older with histologically confirmed hormone receptor-positive, "
     "HER2-negative breast cancer",
     [("Women", DEM), ("aged", DEM), ("18 years or older", Q), ("histologically confirmed", Q),
      ("hormone receptor-positive", Q), ("HER2-negative", Q), ("breast cancer", C),
      ("breast", ANAT)],
     [(1, 2, VALUE), (6, 3, MOD), (6, 4, MOD), (6, 5, MOD), (6, 7, WHERE)], "reviewed"),
    (_T02, INCLUSION,
     "Locally advanced or metastatic disease not amenable to curative surgery or radiotherapy",
     [("Locally advanced", Q), ("metastatic", Q), ("disease", C), ("not", NEG), ("curative", Q),
      ("surgery", PROC), ("radiotherapy", PROC)],
     [(2, 0, MOD), (2, 1, MOD), (5, 3, NEGATED), (6, 3, NEGATED), (5, 4, MOD), (6, 4, MOD)],
     "reviewed"),
    (_T02, INCLUSION,
     "Disease progression during or after prior treatment with an aromatase inhibitor",
     [("Disease progression", REF), ("during or after prior treatment", TEMP),
      ("aromatase inhibitor", DRUG)],
     [(0, 1, WHEN), (0, 2, SPEC)], "done"),
    (_T02, INCLUSION,
     "At least one measurable lesion per RECIST 1.1 on computed tomography or magnetic "
     "resonance imaging",
     [("At least one", Q), ("measurable lesion", C), ("per RECIST 1.1", Q),
      ("computed tomography", PROC), ("magnetic resonance imaging", PROC)],
     [(1, 0, MOD), (1, 2, MOD), (1, 3, SPEC), (1, 4, SPEC)], "reviewed"),
    (_T02, INCLUSION, "ECOG performance status of 0 or 1",
     [("ECOG performance status", OBS), ("0 or 1", Q)], [(0, 1, VALUE)], "done"),
    (_T02, INCLUSION,
     "Adequate bone marrow function: absolute neutrophil count of at least 1.5 x 10^9/L and "
     "platelet count of at least 100 x 10^9/L",
     [("bone marrow function", OBS), ("bone marrow", ANAT), ("Adequate", Q),
      ("absolute neutrophil count", MEAS), ("at least 1.5 x 10^9/L", Q), ("platelet count", MEAS),
      ("at least 100 x 10^9/L", Q)],
     [(0, 2, MOD), (0, 1, WHERE), (3, 4, VALUE), (5, 6, VALUE), (0, 3, SPEC), (0, 5, SPEC)],
     "done"),
    (_T02, INCLUSION, "Life expectancy of at least 12 weeks in the opinion of the investigator",
     [], [], "new"),
    (_T02, EXCLUSION,
     "Symptomatic or untreated metastases to the brain or leptomeningeal disease",
     [("Symptomatic", Q), ("untreated", Q), ("metastases", C), ("brain", ANAT),
      ("leptomeningeal disease", C)],
     [(2, 0, MOD), (2, 1, MOD), (2, 3, WHERE)], "reviewed"),
    (_T02, EXCLUSION,
     "Prior treatment with fulvestrant, everolimus or any CDK4/6 inhibitor in the advanced "
     "setting; prior CDK4/6 inhibitor in the adjuvant setting is allowed if completed more than "
     "12 months before enrollment",
     [("fulvestrant", DRUG), ("everolimus", DRUG), ("CDK4/6 inhibitor", DRUG, 0),
      ("in the advanced setting", Q), ("CDK4/6 inhibitor", DRUG, 1), ("in the adjuvant setting", Q),
      ("allowed", PERM), ("more than 12 months before enrollment", TEMP)],
     [(0, 3, MOD), (1, 3, MOD), (2, 3, MOD), (4, 5, MOD), (4, 6, PERMITTED), (4, 7, WHEN)],
     "reviewed"),
    (_T02, EXCLUSION,
     "Another malignancy within 3 years, except adequately treated basal cell carcinoma of the "
     "skin or carcinoma in situ of the cervix",
     [("malignancy", C), ("within 3 years", TEMP), ("except", PERM), ("adequately treated", Q),
      ("basal cell carcinoma", C), ("skin", ANAT), ("carcinoma in situ", C), ("cervix", ANAT)],
     [(0, 1, WHEN), (4, 2, PERMITTED), (6, 2, PERMITTED), (4, 3, MOD), (6, 3, MOD),
      (4, 5, WHERE), (6, 7, WHERE)],
     "done"),
    (_T02, EXCLUSION,
     "QTcF interval greater than 470 ms on a screening electrocardiogram",
     [("QTcF interval", MEAS), ("greater than 470 ms", Q), ("screening", TEMP),
      ("electrocardiogram", PROC)],
     [(0, 1, VALUE), (0, 3, SPEC), (3, 2, WHEN)], "done"),
    (_T02, EXCLUSION,
     "Known hypersensitivity to ELG-2204, fulvestrant or any of their excipients",
     [("hypersensitivity", C), ("ELG-2204", IP), ("fulvestrant", DRUG), ("excipients", DRUG)],
     [(0, 1, SPEC), (0, 2, SPEC), (0, 3, SPEC)], "reviewed"),
    (_T02, EXCLUSION,
     "Major surgery within 4 weeks before randomization or incomplete recovery from previous "
     "surgery",
     [], [], "new"),
    (_T02, EXCLUSION, "Inability to swallow oral medication or known malabsorption syndrome",
     [], [], "new"),
    # --- T03: heart failure ------------------------------------------------------------
    (_T03, INCLUSION,
     "Chronic heart failure of NYHA class II to IV for at least 3 months before screening",
     [("Chronic heart failure", C), ("NYHA class", OBS), ("II to IV", Q),
      ("for at least 3 months before screening", TEMP)],
     [(0, 1, SPEC), (1, 2, VALUE), (0, 3, WHEN)], "reviewed"),
    (_T03, INCLUSION,
     "Left ventricular ejection fraction of 40% or less measured by echocardiography within "
     "12 months before randomization",
     [("Left ventricular ejection fraction", MEAS), ("Left ventricular", ANAT), ("40% or less", Q),
      ("echocardiography", PROC), ("within 12 months before randomization", TEMP)],
     [(0, 1, WHERE), (0, 2, VALUE), (0, 3, SPEC), (3, 4, WHEN)], "reviewed"),
    (_T03, INCLUSION,
     "NT-proBNP of at least 600 pg/mL, or at least 400 pg/mL if hospitalized for heart failure "
     "within the past 12 months",
     [("NT-proBNP", MEAS), ("at least 600 pg/mL", Q), ("at least 400 pg/mL", Q),
      ("hospitalized", EV), ("heart failure", C), ("within the past 12 months", TEMP)],
     [(0, 1, VALUE), (0, 2, VALUE), (3, 4, SPEC), (3, 5, WHEN)], "done"),
    (_T03, INCLUSION,
     "Receiving optimal guideline-directed medical therapy, including a beta-blocker and an ACE "
     "inhibitor, ARB or sacubitril/valsartan, at stable doses for at least 4 weeks",
     [("optimal", Q), ("guideline-directed medical therapy", DRUG), ("beta-blocker", DRUG),
      ("ACE inhibitor", DRUG), ("ARB", DRUG), ("sacubitril/valsartan", DRUG), ("stable doses", Q),
      ("for at least 4 weeks", TEMP)],
     [(1, 0, MOD), (1, 2, SPEC), (1, 3, SPEC), (1, 4, SPEC), (1, 5, SPEC), (1, 6, MOD),
      (1, 7, WHEN)],
     "done"),
    (_T03, INCLUSION,
     "Systolic blood pressure of at least 100 mmHg at screening and at randomization",
     [], [], "new"),
    (_T03, EXCLUSION,
     "Myocardial infarction, unstable angina or stroke within 90 days before screening",
     [("Myocardial infarction", EV), ("unstable angina", EV), ("stroke", EV),
      ("within 90 days before screening", TEMP)],
     [(0, 3, WHEN), (1, 3, WHEN), (2, 3, WHEN)], "reviewed"),
    (_T03, EXCLUSION,
     "Coronary artery bypass graft surgery or percutaneous coronary intervention within the past "
     "3 months, or planned during the study",
     [("Coronary artery bypass graft surgery", PROC), ("Coronary artery", ANAT),
      ("percutaneous coronary intervention", PROC), ("within the past 3 months", TEMP),
      ("planned", Q), ("during the study", TEMP)],
     [(0, 1, WHERE), (0, 3, WHEN), (2, 3, WHEN), (0, 4, MOD), (2, 4, MOD), (0, 5, WHEN),
      (2, 5, WHEN)],
     "reviewed"),
    (_T03, EXCLUSION,
     "Implanted cardiac resynchronization therapy device within 3 months before screening, or "
     "implantation planned during the study; an implantable cardioverter-defibrillator is "
     "permitted",
     [("Implanted", Q), ("cardiac resynchronization therapy device", DEV),
      ("within 3 months before screening", TEMP), ("implantation", PROC), ("planned", Q),
      ("during the study", TEMP), ("implantable cardioverter-defibrillator", DEV),
      ("permitted", PERM)],
     [(1, 0, MOD), (1, 2, WHEN), (3, 1, SPEC), (3, 4, MOD), (3, 5, WHEN), (6, 7, PERMITTED)],
     "done"),
    (_T03, EXCLUSION,
     "Symptomatic bradycardia or second- or third-degree heart block without a functioning "
     "pacemaker",
     [("Symptomatic bradycardia", C), (("second-", "heart block"), C),
      ("third-degree heart block", C), ("without", NEG), ("functioning", Q), ("pacemaker", DEV)],
     [(5, 3, NEGATED), (5, 4, MOD)], "done"),
    (_T03, EXCLUSION,
     "Serum potassium above 5.0 mmol/L or eGFR below 30 mL/min/1.73 m2 at screening",
     [("Serum potassium", MEAS), ("above 5.0 mmol/L", Q), ("eGFR", MEAS),
      ("below 30 mL/min/1.73 m2", Q), ("at screening", TEMP)],
     [(0, 1, VALUE), (2, 3, VALUE), (0, 4, WHEN), (2, 4, WHEN)], "done"),
    (_T03, EXCLUSION,
     "Severe aortic or mitral valve stenosis, or hypertrophic obstructive cardiomyopathy",
     [], [], "new"),
    (_T03, EXCLUSION, "Heart transplant recipient or listed for heart transplantation",
     [], [], "new"),
    # --- T04: severe eosinophilic asthma -----------------------------------------------
    (_T04, INCLUSION, "Physician-diagnosed asthma for at least 12 months before screening",
     [("Physician-diagnosed", Q), ("asthma", C), ("for at least 12 months before screening", TEMP)],
     [(1, 0, MOD), (1, 2, WHEN)], "reviewed"),
    (_T04, INCLUSION,
     "Asthma uncontrolled despite medium- to high-dose inhaled corticosteroids plus at least one "
     "additional controller for at least 3 months",
     [("Asthma uncontrolled", REF), ("medium- to high-dose", Q), ("inhaled corticosteroids", DRUG),
      ("at least one", Q), ("additional", Q), ("controller", DRUG),
      ("for at least 3 months", TEMP)],
     [(0, 2, SPEC), (0, 5, SPEC), (2, 1, VALUE), (5, 3, VALUE), (5, 4, MOD), (2, 6, WHEN),
      (5, 6, WHEN)],
     "reviewed"),
    (_T04, INCLUSION,
     "At least two asthma exacerbations requiring systemic corticosteroids in the previous "
     "12 months",
     [("At least two", Q), ("asthma exacerbations", EV), ("systemic corticosteroids", DRUG),
      ("in the previous 12 months", TEMP)],
     [(1, 0, MOD), (1, 2, SPEC), (1, 3, WHEN)], "done"),
    (_T04, INCLUSION, "Blood eosinophil count of at least 300 cells/uL at screening",
     [("Blood eosinophil count", MEAS), ("at least 300 cells/uL", Q), ("at screening", TEMP)],
     [(0, 1, VALUE), (0, 2, WHEN)], "done"),
    (_T04, INCLUSION,
     "Pre-bronchodilator FEV1 of 40% to 80% of predicted normal with reversibility of at least "
     "12% after inhaled salbutamol",
     [("Pre-bronchodilator", TEMP), ("FEV1", MEAS), ("40% to 80% of predicted normal", Q),
      ("reversibility", MEAS), ("at least 12%", Q), ("inhaled", Q), ("salbutamol", DRUG)],
     [(1, 0, WHEN), (1, 2, VALUE), (3, 4, VALUE), (3, 6, SPEC), (6, 5, MOD)], "reviewed"),
    (_T04, INCLUSION,
     "Able to use a metered-dose inhaler and an electronic peak flow meter correctly",
     [("metered-dose inhaler", DEV), ("electronic", Q), ("peak flow meter", DEV)],
     [(2, 1, MOD)], "done"),
    (_T04, EXCLUSION,
     "Current smokers or former smokers with a smoking history of at least 10 pack-years",
     [("Current", TEMP), ("smokers", OBS, 0), ("former", TEMP), ("smokers", OBS, 1),
      ("smoking history", OBS), ("at least 10 pack-years", Q)],
     [(1, 0, WHEN), (3, 2, WHEN), (4, 5, VALUE)], "reviewed"),
    (_T04, EXCLUSION,
     "Chronic obstructive pulmonary disease, bronchiectasis or other clinically significant lung "
     "disease",
     [("Chronic obstructive pulmonary disease", C), ("bronchiectasis", C),
      ("clinically significant", Q), ("lung disease", C), ("lung", ANAT)],
     [(3, 2, MOD), (3, 4, WHERE)], "reviewed"),
    (_T04, EXCLUSION,
     "Asthma exacerbation requiring hospitalization or an emergency department visit within "
     "4 weeks before screening",
     [("Asthma exacerbation", EV), ("hospitalization", EV), ("emergency department visit", EV),
      ("within 4 weeks before screening", TEMP)],
     [(0, 1, SPEC), (0, 2, SPEC), (0, 3, WHEN)], "done"),
    (_T04, EXCLUSION,
     "Treatment with another biologic, such as omalizumab, mepolizumab, benralizumab or "
     "dupilumab, within 5 half-lives before screening",
     [("biologic", DRUG), ("omalizumab", DRUG), ("mepolizumab", DRUG), ("benralizumab", DRUG),
      ("dupilumab", DRUG), ("within 5 half-lives before screening", TEMP)],
     [(0, 1, SPEC), (0, 2, SPEC), (0, 3, SPEC), (0, 4, SPEC), (0, 5, WHEN)], "done"),
    (_T04, EXCLUSION,
     "Helminthic parasitic infection diagnosed within 24 weeks before screening that has not "
     "been treated",
     [("Helminthic parasitic infection", C), ("within 24 weeks before screening", TEMP),
      ("not", NEG), ("treated", PROC)],
     [(0, 1, WHEN), (0, 3, SPEC), (3, 2, NEGATED)], "done"),
    (_T04, EXCLUSION,
     "Bronchial thermoplasty within 3 years before screening or planned during the study",
     [], [], "new"),
    (_T04, EXCLUSION, "Current use of oral corticosteroids for any condition other than asthma",
     [], [], "new"),
    (_T04, EXCLUSION, "Known immunodeficiency disorder, including HIV infection",
     [], [], "new"),
    # --- T05: rheumatoid arthritis -----------------------------------------------------
    (_T05, INCLUSION,
     "Adults with rheumatoid arthritis meeting the 2010 ACR/EULAR classification criteria for at "
     "least 6 months",
     [("Adults", DEM), ("rheumatoid arthritis", C), ("2010 ACR/EULAR classification criteria", OBS),
      ("for at least 6 months", TEMP)],
     [(1, 2, SPEC), (1, 3, WHEN)], "reviewed"),
    (_T05, INCLUSION,
     "Active disease with at least 6 swollen joints and at least 6 tender joints based on a "
     "66/68 joint count",
     [("Active", Q), ("disease", C), ("at least 6", Q, 0), ("swollen joints", OBS),
      ("at least 6", Q, 1), ("tender joints", OBS)],
     [(1, 0, MOD), (3, 2, VALUE), (5, 4, VALUE), (1, 3, SPEC), (1, 5, SPEC)], "reviewed"),
    (_T05, INCLUSION,
     "C-reactive protein above the upper limit of normal or erythrocyte sedimentation rate of at "
     "least 28 mm/h",
     [("C-reactive protein", MEAS), ("above the upper limit of normal", Q),
      ("erythrocyte sedimentation rate", MEAS), ("at least 28 mm/h", Q)],
     [(0, 1, VALUE), (2, 3, VALUE)], "done"),
    (_T05, INCLUSION,
     "Inadequate response to methotrexate given for at least 12 weeks at a stable dose of 15 to "
     "25 mg/week",
     [("Inadequate response", REF), ("methotrexate", DRUG), ("for at least 12 weeks", TEMP),
      ("stable", Q), ("15 to 25 mg/week", Q)],
     [(0, 1, SPEC), (1, 2, WHEN), (1, 3, MOD), (1, 4, VALUE)], "reviewed"),
    (_T05, INCLUSION,
     "Women of childbearing potential must have a negative serum pregnancy test at screening",
     [("Women", DEM), ("childbearing potential", OBS), ("negative", Q),
      ("serum pregnancy test", MEAS), ("at screening", TEMP)],
     [(0, 1, SPEC), (3, 2, VALUE), (3, 4, WHEN)], "done"),
    (_T05, EXCLUSION,
     "Pregnant or breastfeeding women, or women of childbearing potential not using highly "
     "effective contraception",
     [("Pregnant", C), ("breastfeeding", OBS), ("women", DEM, 0), ("women", DEM, 1),
      ("childbearing potential", OBS), ("not", NEG), ("highly effective", Q),
      ("contraception", PROC)],
     [(2, 0, SPEC), (2, 1, SPEC), (3, 4, SPEC), (7, 5, NEGATED), (7, 6, MOD)], "reviewed"),
    (_T05, EXCLUSION,
     "Prior treatment with a JAK inhibitor such as tofacitinib, baricitinib or upadacitinib",
     [("Prior", TEMP), ("JAK inhibitor", DRUG), ("tofacitinib", DRUG), ("baricitinib", DRUG),
      ("upadacitinib", DRUG)],
     [(1, 0, WHEN), (1, 2, SPEC), (1, 3, SPEC), (1, 4, SPEC)], "reviewed"),
    (_T05, EXCLUSION,
     "Active or latent tuberculosis, unless latent tuberculosis has been adequately treated "
     "before the first dose of study drug",
     [(("Active", "tuberculosis"), C), ("latent tuberculosis", C, 0), ("unless", PERM),
      ("latent tuberculosis", C, 1), ("adequately treated", Q), ("before the first dose", TEMP),
      ("study drug", IP)],
     [(3, 2, PERMITTED), (3, 4, MOD), (3, 5, WHEN), (5, 6, SPEC)], "done"),
    (_T05, EXCLUSION,
     "Herpes zoster infection within 12 months or a history of disseminated herpes zoster",
     [("Herpes zoster infection", C), ("within 12 months", TEMP), ("disseminated", Q),
      ("herpes zoster", C)],
     [(0, 1, WHEN), (3, 2, MOD)], "done"),
    (_T05, EXCLUSION,
     "Hemoglobin below 9 g/dL, absolute lymphocyte count below 0.5 x 10^9/L, or ALT or AST above "
     "2 times the upper limit of normal",
     [("Hemoglobin", MEAS), ("below 9 g/dL", Q), ("absolute lymphocyte count", MEAS),
      ("below 0.5 x 10^9/L", Q), ("ALT", MEAS), ("AST", MEAS),
      ("above 2 times the upper limit of normal", Q)],
     [(0, 1, VALUE), (2, 3, VALUE), (4, 6, VALUE), (5, 6, VALUE)], "done"),
    (_T05, EXCLUSION,
     "Any other inflammatory joint disease, such as psoriatic arthritis or ankylosing "
     "spondylitis",
     [], [], "new"),
    (_T05, EXCLUSION, "History of venous thromboembolism or known inherited thrombophilia",
     [], [], "new"),
    (_T05, EXCLUSION,
     "Live vaccine within 4 weeks before randomization or planned during the study",
     [], [], "new"),
    # --- T06: chronic hepatitis B ------------------------------------------------------
    (_T06, INCLUSION,
     "Chronic hepatitis B infection, defined as HBsAg positive for at least 6 months",
     [("Chronic hepatitis B infection", C), ("HBsAg", MEAS), ("positive", Q),
      ("for at least 6 months", TEMP)],
     [(0, 1, SPEC), (1, 2, VALUE), (1, 3, WHEN)], "reviewed"),
    (_T06, INCLUSION,
     "HBV DNA of at least 2,000 IU/mL and ALT above the upper limit of normal but below 10 times "
     "the upper limit of normal",
     [("HBV DNA", MEAS), ("at least 2,000 IU/mL", Q), ("ALT", MEAS),
      ("above the upper limit of normal", Q), ("below 10 times the upper limit of normal", Q)],
     [(0, 1, VALUE), (2, 3, VALUE), (2, 4, VALUE)], "reviewed"),
    (_T06, INCLUSION,
     "Treatment-naive or not on nucleos(t)ide analogue therapy within 6 months before screening",
     [("Treatment-naive", OBS), ("not", NEG), ("nucleos(t)ide analogue therapy", DRUG),
      ("within 6 months before screening", TEMP)],
     [(2, 1, NEGATED), (2, 3, WHEN)], "done"),
    (_T06, INCLUSION,
     "Transient elastography within 6 months before screening showing liver stiffness below "
     "12 kPa",
     [("Transient elastography", PROC), ("within 6 months before screening", TEMP),
      ("liver stiffness", MEAS), ("liver", ANAT), ("below 12 kPa", Q)],
     [(0, 1, WHEN), (2, 0, SPEC), (2, 3, WHERE), (2, 4, VALUE)], "done"),
    (_T06, INCLUSION,
     "Willing to provide written informed consent and to comply with all study visits",
     [], [], "new"),
    (_T06, EXCLUSION, "Coinfection with hepatitis C virus, hepatitis D virus or HIV",
     [("Coinfection", C), ("hepatitis C virus", C), ("hepatitis D virus", C), ("HIV", C)],
     [(0, 1, SPEC), (0, 2, SPEC), (0, 3, SPEC)], "reviewed"),
    (_T06, EXCLUSION,
     "Decompensated liver disease, such as ascites, hepatic encephalopathy or variceal bleeding, "
     "at any time",
     [("Decompensated liver disease", C), ("ascites", C), ("hepatic encephalopathy", C),
      ("variceal bleeding", EV), ("at any time", TEMP)],
     [(0, 1, SPEC), (0, 2, SPEC), (0, 3, SPEC), (0, 4, WHEN)], "reviewed"),
    (_T06, EXCLUSION,
     "Hepatocellular carcinoma or a mass in the liver suspicious for malignancy on ultrasound",
     [("Hepatocellular carcinoma", C), ("mass", C), ("liver", ANAT),
      ("suspicious for malignancy", Q), ("ultrasound", PROC)],
     [(1, 2, WHERE), (1, 3, MOD), (1, 4, SPEC)], "done"),
    (_T06, EXCLUSION,
     "Alpha-fetoprotein above 50 ng/mL at screening, unless hepatocellular carcinoma has been "
     "excluded by contrast-enhanced imaging",
     [("Alpha-fetoprotein", MEAS), ("above 50 ng/mL", Q), ("at screening", TEMP),
      ("unless", PERM), ("hepatocellular carcinoma", C), ("excluded", NEG),
      ("contrast-enhanced imaging", PROC)],
     [(0, 1, VALUE), (0, 2, WHEN), (0, 3, PERMITTED), (4, 5, NEGATED), (4, 6, SPEC)], "done"),
    (_T06, EXCLUSION, "Organ transplantation or current immunosuppressive therapy",
     [("Organ transplantation", PROC), ("current", TEMP), ("immunosuppressive therapy", DRUG)],
     [(2, 1, WHEN)], "done"),
    (_T06, EXCLUSION,
     "Platelet count below 90 x 10^9/L or serum albumin below 3.5 g/dL",
     [], [], "new"),
    (_T06, EXCLUSION,
     "Creatinine clearance below 50 mL/min calculated by the Cockcroft-Gault equation",
     [], [], "new"),
    (_T06, EXCLUSION, "Alcohol consumption above 20 g/day for women or 30 g/day for men",
     [], [], "new"),
    # --- T07: treatment-resistant depression -------------------------------------------
    (_T07, INCLUSION,
     "Outpatients aged 18 to 65 years with a primary diagnosis of major depressive disorder "
     "according to DSM-5 criteria",
     [("Outpatients", DEM), ("aged", DEM), ("18 to 65 years", Q), ("primary", Q),
      ("major depressive disorder", C), ("DSM-5 criteria", OBS)],
     [(1, 2, VALUE), (4, 3, MOD), (4, 5, SPEC)], "reviewed"),
    (_T07, INCLUSION,
     "Current depressive episode with inadequate response to at least two adequate "
     "antidepressant trials, one of which is ongoing",
     [("Current", TEMP), ("depressive episode with inadequate response", REF), ("at least two", Q),
      ("adequate", Q), ("antidepressant", DRUG), ("ongoing", TEMP)],
     [(1, 0, WHEN), (1, 4, SPEC), (4, 2, VALUE), (4, 3, MOD), (4, 5, WHEN)], "reviewed"),
    (_T07, INCLUSION, "MADRS total score of at least 24 at screening and at baseline",
     [("MADRS total score", MEAS), ("at least 24", Q), ("at screening and at baseline", TEMP)],
     [(0, 1, VALUE), (0, 2, WHEN)], "done"),
    (_T07, INCLUSION,
     "On a stable dose of an SSRI or SNRI for at least 6 weeks before randomization",
     [("stable dose", Q), ("SSRI", DRUG), ("SNRI", DRUG),
      ("for at least 6 weeks before randomization", TEMP)],
     [(1, 0, MOD), (2, 0, MOD), (1, 3, WHEN), (2, 3, WHEN)], "done"),
    (_T07, INCLUSION,
     "Able to understand the study procedures and to complete self-rated questionnaires",
     [], [], "new"),
    (_T07, EXCLUSION,
     "Lifetime diagnosis of bipolar disorder, schizophrenia or another psychotic disorder",
     [("Lifetime", TEMP), ("bipolar disorder", C), ("schizophrenia", C), ("psychotic disorder", C)],
     [(1, 0, WHEN), (2, 0, WHEN), (3, 0, WHEN)], "reviewed"),
    (_T07, EXCLUSION,
     "Significant suicide risk, defined as suicidal behavior within the past 12 months or active "
     "suicidal ideation with intent at screening",
     [("Significant", Q), ("suicide risk", OBS), ("suicidal behavior", EV),
      ("within the past 12 months", TEMP), ("active", Q), ("suicidal ideation", OBS),
      ("with intent", Q), ("at screening", TEMP)],
     [(1, 0, MOD), (1, 2, SPEC), (1, 5, SPEC), (2, 3, WHEN), (5, 4, MOD), (5, 6, MOD),
      (5, 7, WHEN)],
     "reviewed"),
    (_T07, EXCLUSION,
     "Electroconvulsive therapy, vagus nerve stimulation or repetitive transcranial magnetic "
     "stimulation during the current episode",
     [("Electroconvulsive therapy", PROC), ("vagus nerve stimulation", PROC), ("vagus nerve", ANAT),
      ("repetitive transcranial magnetic stimulation", PROC), ("during the current episode", TEMP)],
     [(1, 2, WHERE), (0, 4, WHEN), (1, 4, WHEN), (3, 4, WHEN)], "done"),
    (_T07, EXCLUSION,
     "Substance or alcohol use disorder within 6 months before screening, except nicotine or "
     "caffeine use",
     [(("Substance", "use disorder"), C), ("alcohol use disorder", C),
      ("within 6 months before screening", TEMP), ("except", PERM), ("nicotine", DRUG),
      ("caffeine", DRUG)],
     [(0, 2, WHEN), (1, 2, WHEN), (4, 3, PERMITTED), (5, 3, PERMITTED)], "done"),
    (_T07, EXCLUSION, "Previous non-response to esketamine or ketamine for depression",
     [("Previous", TEMP), ("non-response", REF), ("esketamine", DRUG), ("ketamine", DRUG),
      ("depression", C)],
     [(1, 0, WHEN), (1, 2, SPEC), (1, 3, SPEC), (2, 4, SPEC), (3, 4, SPEC)], "done"),
    (_T07, EXCLUSION,
     "Current treatment with a monoamine oxidase inhibitor or lithium",
     [], [], "new"),
    (_T07, EXCLUSION,
     "Positive urine drug screen for cocaine, amphetamines or phencyclidine at screening",
     [], [], "new"),
    (_T07, EXCLUSION,
     "Clinically significant abnormality on the screening electrocardiogram as judged by the "
     "investigator",
     [], [], "new"),
    # --- T08: chronic kidney disease ---------------------------------------------------
    (_T08, INCLUSION,
     "Chronic kidney disease with eGFR of 25 to 75 mL/min/1.73 m2 and urine "
     "albumin-to-creatinine ratio of 200 to 5000 mg/g",
     [("Chronic kidney disease", C), ("eGFR", MEAS), ("25 to 75 mL/min/1.73 m2", Q),
      ("urine albumin-to-creatinine ratio", MEAS), ("200 to 5000 mg/g", Q)],
     [(0, 1, SPEC), (0, 3, SPEC), (1, 2, VALUE), (3, 4, VALUE)], "reviewed"),
    (_T08, INCLUSION,
     "Treated with the maximum tolerated dose of an ACE inhibitor or ARB for at least 4 weeks "
     "before screening",
     [("maximum tolerated dose", Q), ("ACE inhibitor", DRUG), ("ARB", DRUG),
      ("for at least 4 weeks before screening", TEMP)],
     [(1, 0, MOD), (2, 0, MOD), (1, 3, WHEN), (2, 3, WHEN)], "reviewed"),
    (_T08, INCLUSION, "Type 2 diabetes with HbA1c of 10.5% or less",
     [("Type 2 diabetes", C), ("HbA1c", MEAS), ("10.5% or less", Q)],
     [(0, 1, SPEC), (1, 2, VALUE)], "done"),
    (_T08, INCLUSION, "Serum potassium of 4.8 mmol/L or less at the screening visit",
     [("Serum potassium", MEAS), ("4.8 mmol/L or less", Q), ("at the screening visit", TEMP)],
     [(0, 1, VALUE), (0, 2, WHEN)], "done"),
    (_T08, INCLUSION,
     "Stable kidney function with less than 25% variation in eGFR between the two screening "
     "visits",
     [], [], "new"),
    (_T08, EXCLUSION,
     "Non-diabetic kidney disease, including polycystic kidney disease, lupus nephritis or "
     "ANCA-associated vasculitis",
     [("Non-diabetic kidney disease", C), ("polycystic kidney disease", C), ("lupus nephritis", C),
      ("ANCA-associated vasculitis", C)],
     [(0, 1, SPEC), (0, 2, SPEC), (0, 3, SPEC)], "reviewed"),
    (_T08, EXCLUSION,
     "Kidney transplant recipient or dialysis within 12 weeks before screening, unless dialysis "
     "was for acute kidney injury that has resolved",
     [("Kidney transplant", PROC), ("Kidney", ANAT), ("dialysis", PROC, 0),
      ("within 12 weeks before screening", TEMP), ("unless", PERM), ("dialysis", PROC, 1),
      ("acute kidney injury", EV), ("resolved", Q)],
     [(0, 1, WHERE), (2, 3, WHEN), (5, 4, PERMITTED), (5, 6, SPEC), (6, 7, MOD)], "reviewed"),
    (_T08, EXCLUSION,
     "Uncontrolled hypertension with systolic blood pressure of at least 170 mmHg or diastolic "
     "blood pressure of at least 105 mmHg at screening",
     [("Uncontrolled", Q), ("hypertension", C), ("systolic blood pressure", MEAS),
      ("at least 170 mmHg", Q), ("diastolic blood pressure", MEAS), ("at least 105 mmHg", Q),
      ("at screening", TEMP)],
     [(1, 0, MOD), (1, 2, SPEC), (1, 4, SPEC), (2, 3, VALUE), (4, 5, VALUE), (2, 6, WHEN),
      (4, 6, WHEN)],
     "done"),
    (_T08, EXCLUSION,
     "Hospitalization for heart failure within 3 months or NYHA class IV heart failure",
     [("Hospitalization", EV), ("heart failure", C, 0), ("within 3 months", TEMP),
      ("NYHA class", OBS), ("IV", Q), ("heart failure", C, 1)],
     [(0, 1, SPEC), (0, 2, WHEN), (3, 4, VALUE), (5, 3, SPEC)], "done"),
    (_T08, EXCLUSION,
     "Concomitant use of a mineralocorticoid receptor antagonist such as spironolactone or "
     "eplerenone, or potassium supplements",
     [("Concomitant", TEMP), ("mineralocorticoid receptor antagonist", DRUG),
      ("spironolactone", DRUG), ("eplerenone", DRUG), ("potassium supplements", DRUG)],
     [(1, 0, WHEN), (1, 2, SPEC), (1, 3, SPEC), (4, 0, WHEN)], "done"),
    (_T08, EXCLUSION, "Known hypersensitivity to ELG-808 or to any component of its formulation",
     [], [], "new"),
    (_T08, EXCLUSION,
     "Participation in another interventional clinical trial within 30 days before screening",
     [], [], "new"),
    # --- T09: non-small cell lung cancer -----------------------------------------------
    (_T09, INCLUSION,
     "Histologically or cytologically confirmed stage IV non-small cell lung cancer",
     [("Histologically or cytologically confirmed", Q), ("stage IV", Q),
      ("non-small cell lung cancer", C)],
     [(2, 0, MOD), (2, 1, MOD)], "reviewed"),
    (_T09, INCLUSION,
     "No sensitizing EGFR mutation or ALK rearrangement documented by a validated tumor test",
     [("No", NEG), ("sensitizing", Q), ("EGFR mutation", MEAS), ("ALK rearrangement", MEAS),
      ("validated tumor test", PROC)],
     [(2, 0, NEGATED), (3, 0, NEGATED), (2, 1, MOD), (2, 4, SPEC), (3, 4, SPEC)], "reviewed"),
    (_T09, INCLUSION,
     "No prior systemic therapy for metastatic disease; prior adjuvant chemotherapy is allowed if "
     "completed at least 6 months before the diagnosis of metastatic disease",
     [("No", NEG), ("prior", TEMP, 0), ("systemic therapy", DRUG), ("metastatic disease", C, 0),
      ("prior", TEMP, 1), ("adjuvant chemotherapy", DRUG), ("allowed", PERM),
      ("at least 6 months before the diagnosis of metastatic disease", TEMP)],
     [(2, 0, NEGATED), (2, 1, WHEN), (2, 3, SPEC), (5, 4, WHEN), (5, 6, PERMITTED),
      (5, 7, WHEN)],
     "done"),
    (_T09, INCLUSION,
     "PD-L1 tumor proportion score of at least 1% assessed by a central laboratory",
     [("PD-L1 tumor proportion score", MEAS), ("at least 1%", Q), ("central laboratory", Q)],
     [(0, 1, VALUE), (0, 2, MOD)], "done"),
    (_T09, INCLUSION,
     "Adequate organ function as defined by the protocol laboratory values within 14 days before "
     "the first dose",
     [], [], "new"),
    (_T09, EXCLUSION,
     "Active autoimmune disease that required systemic treatment in the past 2 years; "
     "replacement therapy such as thyroxine or insulin is permitted",
     [("Active", Q), ("autoimmune disease", C), ("systemic treatment", DRUG),
      ("in the past 2 years", TEMP), ("replacement therapy", DRUG), ("thyroxine", DRUG),
      ("insulin", DRUG), ("permitted", PERM)],
     [(1, 0, MOD), (1, 2, SPEC), (2, 3, WHEN), (4, 5, SPEC), (4, 6, SPEC), (4, 7, PERMITTED)],
     "reviewed"),
    (_T09, EXCLUSION,
     "Untreated or symptomatic central nervous system metastases; treated brain metastases are "
     "allowed if stable for at least 4 weeks",
     [("Untreated", Q), ("symptomatic", Q), ("central nervous system", ANAT), ("metastases", C, 0),
      ("treated", Q), ("brain metastases", C), ("allowed", PERM), ("stable", Q),
      ("for at least 4 weeks", TEMP)],
     [(3, 0, MOD), (3, 1, MOD), (3, 2, WHERE), (5, 4, MOD), (5, 6, PERMITTED), (5, 7, MOD),
      (5, 8, WHEN)],
     "reviewed"),
    (_T09, EXCLUSION,
     "History of interstitial lung disease or non-infectious pneumonitis that required steroids",
     [("interstitial lung disease", C), ("non-infectious", Q), ("pneumonitis", C),
      ("steroids", DRUG)],
     [(2, 1, MOD), (2, 3, SPEC)], "done"),
    (_T09, EXCLUSION, "Prior therapy with an anti-PD-1, anti-PD-L1 or anti-CTLA-4 antibody",
     [("Prior", TEMP), ("anti-PD-1", DRUG), ("anti-PD-L1", DRUG), ("anti-CTLA-4 antibody", DRUG)],
     [(1, 0, WHEN), (2, 0, WHEN), (3, 0, WHEN)], "done"),
    (_T09, EXCLUSION,
     "Receipt of a live attenuated vaccine within 30 days before the first dose of ELG-909",
     [("live attenuated vaccine", DRUG), ("within 30 days before the first dose", TEMP),
      ("ELG-909", IP)],
     [(0, 1, WHEN), (1, 2, SPEC)], "done"),
    (_T09, EXCLUSION, "Major surgery within 4 weeks before the first dose of study treatment",
     [], [], "new"),
    (_T09, EXCLUSION, "Active infection requiring systemic antibiotics, antivirals or antifungals",
     [], [], "new"),
    # --- T10: multiple myeloma ---------------------------------------------------------
    (_T10, INCLUSION,
     "Relapsed or refractory multiple myeloma after at least three prior lines of therapy",
     [("Relapsed or refractory multiple myeloma", REF), ("at least three", Q), ("prior", TEMP),
      ("lines of therapy", DRUG)],
     [(0, 3, SPEC), (3, 1, VALUE), (3, 2, WHEN)], "reviewed"),
    (_T10, INCLUSION,
     "Disease refractory to at least one proteasome inhibitor, one immunomodulatory drug and one "
     "anti-CD38 monoclonal antibody",
     [("Disease refractory", REF), ("at least one", Q), ("proteasome inhibitor", DRUG),
      ("immunomodulatory drug", DRUG), ("anti-CD38 monoclonal antibody", DRUG)],
     [(0, 2, SPEC), (0, 3, SPEC), (0, 4, SPEC), (2, 1, VALUE)], "reviewed"),
    (_T10, INCLUSION,
     "Measurable disease defined as serum M-protein of at least 0.5 g/dL or urine M-protein of "
     "at least 200 mg/24 h",
     [("Measurable disease", C), ("serum M-protein", MEAS), ("at least 0.5 g/dL", Q),
      ("urine M-protein", MEAS), ("at least 200 mg/24 h", Q)],
     [(0, 1, SPEC), (0, 3, SPEC), (1, 2, VALUE), (3, 4, VALUE)], "done"),
    (_T10, INCLUSION,
     "Documented disease progression on or within 60 days of completing the last line of therapy",
     [("Documented", Q), ("disease progression", REF), ("on or within 60 days of completing", TEMP),
      ("last line of therapy", DRUG)],
     [(1, 0, MOD), (1, 2, WHEN), (1, 3, SPEC)], "done"),
    (_T10, INCLUSION,
     "Total bilirubin of 1.5 times the upper limit of normal or less, except in Gilbert syndrome",
     [], [], "new"),
    (_T10, EXCLUSION,
     "Prior treatment with any BCMA-targeted therapy, including CAR-T cells and antibody-drug "
     "conjugates",
     [("Prior", TEMP), ("any", Q), ("BCMA-targeted therapy", DRUG), ("CAR-T cells", DRUG),
      ("antibody-drug conjugates", DRUG)],
     [(2, 0, WHEN), (2, 1, MOD), (2, 3, SPEC), (2, 4, SPEC)], "reviewed"),
    (_T10, EXCLUSION,
     "Allogeneic stem cell transplantation within 6 months or active graft-versus-host disease "
     "requiring immunosuppression",
     [("Allogeneic stem cell transplantation", PROC), ("within 6 months", TEMP), ("active", Q),
      ("graft-versus-host disease", C), ("immunosuppression", DRUG)],
     [(0, 1, WHEN), (3, 2, MOD), (3, 4, SPEC)], "reviewed"),
    (_T10, EXCLUSION, "Known hypersensitivity to ELG-1010 or any of its excipients",
     [("hypersensitivity", C), ("ELG-1010", IP), ("excipients", DRUG)],
     [(0, 1, SPEC), (0, 2, SPEC)], "done"),
    (_T10, EXCLUSION,
     "Plasma cell leukemia, POEMS syndrome, or amyloidosis with cardiac involvement",
     [("Plasma cell leukemia", C), ("POEMS syndrome", C), ("amyloidosis", C), ("cardiac", ANAT)],
     [(2, 3, WHERE)], "done"),
    (_T10, EXCLUSION, "Creatinine clearance below 40 mL/min or need for dialysis",
     [("Creatinine clearance", MEAS), ("below 40 mL/min", Q), ("dialysis", PROC)],
     [(0, 1, VALUE)], "done"),
    (_T10, EXCLUSION,
     "Left ventricular ejection fraction below 40% on echocardiogram or multigated acquisition "
     "scan",
     [], [], "new"),
    (_T10, EXCLUSION, "Peripheral neuropathy of grade 2 or higher, or grade 1 with pain",
     [], [], "new"),
    (_T10, EXCLUSION, "Known central nervous system involvement by multiple myeloma",
     [], [], "new"),
]

_SECTION_SUFFIX = {INCLUSION: "inc", EXCLUSION: "exc"}


def document_name(nct_id: str, section: str) -> str:
    """``NCT-DEMO-01`` + ``inclusion`` -> ``DEMO-T01_inc``."""
    return f"DEMO-T{nct_id.rsplit('-', 1)[1]}_{_SECTION_SUFFIX[section]}"


def find_surface(text: str, surface: str, occurrence: int | None = None, start: int = 0
                 ) -> tuple[int, int]:
    """Offsets of ``surface`` in ``text`` as whole words, from ``start`` on.

    Without ``occurrence`` the surface must be unambiguous; raises ``ValueError``
    when it is missing, ambiguous or has no such occurrence.
    """
    left = r"(?<![A-Za-z0-9])" if surface[0].isalnum() else ""
    right = r"(?![A-Za-z0-9])" if surface[-1].isalnum() else ""
    matches = [m.span() for m in re.finditer(left + re.escape(surface) + right, text[start:])]
    if not matches:
        raise ValueError(f"{surface!r} not found in {text!r}")
    if occurrence is None and len(matches) > 1:
        raise ValueError(f"{surface!r} occurs {len(matches)} times in {text!r}: give an occurrence")
    if occurrence is not None and occurrence >= len(matches):
        raise ValueError(f"{surface!r} has no occurrence {occurrence} in {text!r}")
    begin, end = matches[occurrence or 0]
    return begin + start, end + start


def entity_fragments(text: str, spec: tuple) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` fragments, in sentence offsets, of one entity spec."""
    surface, occurrence = spec[0], (spec[2] if len(spec) > 2 else None)
    parts = (surface,) if isinstance(surface, str) else surface
    fragments = [find_surface(text, parts[0], occurrence)]
    for part in parts[1:]:
        begin, end = find_surface(text, part, 0, start=fragments[-1][1])
        fragments.append((begin, end))
    return tuple(fragments)


def _criteria_by_document() -> dict[str, list[tuple]]:
    grouped: dict[str, list[tuple]] = {}
    for criterion in CRITERIA:
        grouped.setdefault(document_name(criterion[0], criterion[1]), []).append(criterion)
    return grouped


def _build_document(name: str, criteria: list[tuple]) -> Document:
    nct_id, section = criteria[0][0], criteria[0][1]
    document = Document(name=name, text="\n".join(c[2] for c in criteria))
    document.metadata = {
        "nct_id": nct_id,
        "section": section,
        "title": TRIAL_TITLES[nct_id],
        "sentence_status": [c[5] for c in criteria],
    }
    offset = 0
    for _, _, text, entities, relations, _ in criteria:
        document.sentences.append(Sentence(offset, offset + len(text)))
        ids = []
        for spec in entities:
            ids.append(f"T{len(document.entities) + 1}")
            fragments = tuple(
                Fragment(offset + begin, offset + end)
                for begin, end in entity_fragments(text, spec)
            )
            document.entities.append(Entity(ids[-1], spec[1], fragments))
        for head, tail, type_ in relations:
            document.relations.append(
                Relation(f"R{len(document.relations) + 1}", type_, ids[head], ids[tail])
            )
        offset += len(text) + 1
    return document


def demo_documents() -> list[Document]:
    """The demo corpus: one document per trial section, one criterion per line."""
    return [_build_document(name, criteria) for name, criteria in _criteria_by_document().items()]
